from django.urls import path

from djsite import views

urlpatterns = [
    path("", views.home),
    path("form/", views.form),
    path("upload/", views.upload),
    path("go/", views.go),
    path("visit/", views.visit),
]
