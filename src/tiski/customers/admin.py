from django.contrib import admin

from tiski.customers.models import Customer, Identity, Organization


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "tier", "language", "created_at"]
    list_filter = ["tier", "language"]
    search_fields = ["name", "identities__value"]
    inlines = [IdentityInline]
    raw_id_fields = ["organization"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "domain"]
    search_fields = ["name", "domain"]


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ["kind", "value", "customer", "verified"]
    list_filter = ["kind", "verified"]
    search_fields = ["value"]
    raw_id_fields = ["customer"]
