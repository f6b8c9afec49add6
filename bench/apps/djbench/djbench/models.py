"""The one table of the benchmark's database, made by bench/django.py (no migrations)."""

from django.db import models


class Post(models.Model):
    title = models.CharField(max_length=200)
    author = models.CharField(max_length=100)
    published = models.DateTimeField()
    body = models.TextField()

    class Meta:
        managed = False  # bench/django.py creates and fills the table with sqlite3
        db_table = "post"
        ordering = ["-published"]
