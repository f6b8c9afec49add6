from django.urls import path

from djblog import views

urlpatterns = [
    path("", views.index),
    path("which/", views.which),
]
