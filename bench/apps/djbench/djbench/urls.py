from django.urls import path

from djbench import views

urlpatterns = [
    path("", views.hello),
    path("home/", views.home),
    path("posts/", views.posts),
]
