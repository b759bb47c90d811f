"""Admin building blocks every app's admin uses."""


class ReadOnlyAdminMixin:
    """Rows written by services only: the admin shows them and changes nothing."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SuperuserOnlyAdminMixin:
    """Listed for platform operators only.

    Staff may hold the model's view permission to read these rows inside their own
    orders; the standalone list would show every restaurant's.
    """

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser
