app_name = "webform"
urlpatterns: list = []
