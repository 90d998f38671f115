"""Console downloads under /console/reports/export/: a figure as CSV or Parquet, the cases behind a row as CSV."""

from django.urls import path

from tiski.reports import export_views

app_name = "report_exports"

urlpatterns = [
    path("cases.csv", export_views.cases_export, name="cases"),
    path("<slug:name>.csv", export_views.figure_export, {"fmt": "csv"}, name="csv"),
    path("<slug:name>.parquet", export_views.figure_export, {"fmt": "parquet"}, name="parquet"),
]
