# Sourced by scripts that need programs from Debian: nginx (the production topology's proxy,
# scripts/serve-production and its test) and wrk (bench/serving.py); with
# ORDERFLOW_CLUSTER_PACKAGES=1 also haproxy, pgbouncer, redis-sentinel and PostgreSQL's server
# programs (scripts/cluster). Installs what is missing
# with apt-get when it can (as root on Debian); elsewhere says what to install.
_orderflow_missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || _orderflow_missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || _orderflow_missing+=(wrk)
if [ "${ORDERFLOW_CLUSTER_PACKAGES:-0}" = "1" ]; then
  # scripts/cluster: the load balancer, the connection pooler and Redis's failover monitors.
  [ -x /usr/sbin/haproxy ] || _orderflow_missing+=(haproxy)
  [ -x /usr/sbin/pgbouncer ] || _orderflow_missing+=(pgbouncer)
  [ -x /usr/bin/redis-sentinel ] || _orderflow_missing+=(redis-sentinel)
  [ -x /usr/lib/postgresql/15/bin/initdb ] || _orderflow_missing+=(postgresql-15)
fi
if [ "${#_orderflow_missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${_orderflow_missing[*]} (apt-get)" >&2
    # Another apt run may hold the lock for a while: wait for it.
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q "${_orderflow_missing[@]}" >/dev/null \
      || { apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null \
        && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q "${_orderflow_missing[@]}" >/dev/null; } \
      || echo "warning: could not install ${_orderflow_missing[*]}" >&2
  else
    echo "warning: install ${_orderflow_missing[*]} (Debian packages) for the production topology and its benchmark" >&2
  fi
fi
export PATH="$PATH:/usr/sbin"
unset _orderflow_missing
