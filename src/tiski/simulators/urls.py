from django.urls import path

from tiski.simulators.views import simulator

urlpatterns = [path("", simulator, name="simulator")]
