#!/bin/sh
# Runs once in the minio/mc image (docker compose up, and the Job minio-setup of both k8s
# overlays): the documents bucket (private) and an access key for the documents service limited
# to that bucket, never an admin (the MinIO operator's spec.users would attach consoleAdmin).
# Idempotent. MINIO_URL: the S3 endpoint (default http://minio:9000); MINIO_CONFIG_ENV: a file
# of `export MINIO_ROOT_USER=... MINIO_ROOT_PASSWORD=...` lines (the MinIO operator's
# config.env) read instead of those two variables.
set -eu
if [ -n "${MINIO_CONFIG_ENV:-}" ]; then
  . "$MINIO_CONFIG_ENV"
fi
mc alias set local "${MINIO_URL:-http://minio:9000}" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing local/mybroker-documents
mc anonymous set none local/mybroker-documents
cat > /tmp/documents-policy.json <<'POLICY'
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket",
             "s3:GetBucketLocation"],
  "Resource": ["arn:aws:s3:::mybroker-documents", "arn:aws:s3:::mybroker-documents/*"]}]}
POLICY
mc admin policy create local mybroker-documents /tmp/documents-policy.json
if ! mc admin user info local "$S3_ACCESS_KEY" >/dev/null 2>&1; then
  mc admin user add local "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
fi
mc admin policy attach local mybroker-documents --user "$S3_ACCESS_KEY" || true
echo "bucket mybroker-documents ready"
# The clients' data exports: a bucket of their own, and one key limited to it that every
# service writes its part with (EXPORT_S3_ACCESS_KEY/EXPORT_S3_SECRET_KEY).
mc mb --ignore-existing local/mybroker-exports
mc anonymous set none local/mybroker-exports
cat > /tmp/exports-policy.json <<'EXPORTS_POLICY'
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket",
             "s3:GetBucketLocation", "s3:AbortMultipartUpload",
             "s3:ListMultipartUploadParts"],
  "Resource": ["arn:aws:s3:::mybroker-exports", "arn:aws:s3:::mybroker-exports/*"]}]}
EXPORTS_POLICY
mc admin policy create local mybroker-exports /tmp/exports-policy.json
if ! mc admin user info local "$EXPORT_S3_ACCESS_KEY" >/dev/null 2>&1; then
  mc admin user add local "$EXPORT_S3_ACCESS_KEY" "$EXPORT_S3_SECRET_KEY"
fi
mc admin policy attach local mybroker-exports --user "$EXPORT_S3_ACCESS_KEY" || true
echo "bucket mybroker-exports ready"
