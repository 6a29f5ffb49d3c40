"""The JSON API (`/api/v1`) and the admin API (`/admin/api/v1`)."""
