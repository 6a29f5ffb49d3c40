#!/usr/bin/env bash
# Makes the secrets of a docker-compose installation, never committed:
#   .env                                 random passwords + the first admin (from .env.example)
#   deploy/compose/secrets/jwt-*.pem     Ed25519 key pair auth signs access tokens with
#   deploy/compose/secrets/tls/tls.*     self-signed TLS certificate for localhost (dev only)
#   deploy/compose/secrets/signing-*     a demo sealing CA and office seal (dev only; the
#                                        office's own seal replaces them, deploy/README.md)
#   deploy/compose/secrets/rabbitmq-definitions.json   RabbitMQ's users (salted hashes of the
#                                        .env passwords) and their permissions, loaded at boot
# Keeps what exists (run with --force to make everything anew). `make secrets` runs it.
set -euo pipefail
cd "$(dirname "$0")/../.."
force=false
[ "${1:-}" = "--force" ] && force=true
secrets=deploy/compose/secrets
mkdir -p "$secrets/tls"
chmod 700 "$secrets"

random() { openssl rand -base64 48 | tr -dc 'A-Za-z0-9' | head -c "${1:-32}"; }
# Private keys are 0600. Compose bind-mounts a file secret as it is on the host (owner and mode
# included), so the key a container reads belongs to that container's user: as root directly,
# otherwise through a throwaway container of an image compose already uses.
give_to() {  # uid:gid, file
  if [ "$(id -u)" = 0 ]; then
    chown "$1" "$2"
  elif command -v docker >/dev/null; then
    docker run --rm --user 0 --entrypoint chown -v "$PWD/$(dirname "$2"):/s" nginx:1.27-alpine \
      "$1" "/s/$(basename "$2")"
  else
    echo "run as root, or: sudo chown $1 $2 (the container's user must read it)" >&2
    exit 1
  fi
}

processes="auth dossier requests documents signing notifier gateway"
services="auth dossier requests documents signing notifier"

if $force || [ ! -f .env ]; then
  admin_password="$(random 24)"
  own_passwords=()
  for name in RABBITMQ_PASSWORD MONGO_ROOT_PASSWORD \
      $(for p in $processes; do echo "RABBITMQ_PASSWORD_${p^^}"; done) \
      $(for s in $services; do echo "MONGO_PASSWORD_${s^^}"; done); do
    own_passwords+=(-e "s/^$name=.*/$name=$(random 32)/")
  done
  sed "${own_passwords[@]}" \
      -e "s/^MONGO_REPLICA_KEY=.*/MONGO_REPLICA_KEY=$(random 64)/" \
      -e "s/^MINIO_ROOT_PASSWORD=.*/MINIO_ROOT_PASSWORD=$(random 32)/" \
      -e "s/^MYBROKER_S3_ACCESS_KEY=.*/MYBROKER_S3_ACCESS_KEY=documents$(random 8)/" \
      -e "s/^MYBROKER_S3_SECRET_KEY=.*/MYBROKER_S3_SECRET_KEY=$(random 40)/" \
      -e "s/^MYBROKER_EXPORT_S3_ACCESS_KEY=.*/MYBROKER_EXPORT_S3_ACCESS_KEY=exports$(random 8)/" \
      -e "s/^MYBROKER_EXPORT_S3_SECRET_KEY=.*/MYBROKER_EXPORT_S3_SECRET_KEY=$(random 40)/" \
      -e "s/^MYBROKER_ADMIN_PASSWORD=.*/MYBROKER_ADMIN_PASSWORD=$admin_password/" \
      -e "s/^MYBROKER_PROXY_SECRET=.*/MYBROKER_PROXY_SECRET=$(random 48)/" \
      -e "s/^MYBROKER_DOSSIER_CURSOR_SECRET=.*/MYBROKER_DOSSIER_CURSOR_SECRET=$(random 48)/" \
      -e "s/^MYBROKER_AUTH_CURSOR_SECRET=.*/MYBROKER_AUTH_CURSOR_SECRET=$(random 48)/" \
      -e "s/^MYBROKER_REQUESTS_CURSOR_SECRET=.*/MYBROKER_REQUESTS_CURSOR_SECRET=$(random 48)/" \
      -e "s/^MYBROKER_DOCUMENTS_CURSOR_SECRET=.*/MYBROKER_DOCUMENTS_CURSOR_SECRET=$(random 48)/" \
      -e "s/^MYBROKER_SIGNING_CURSOR_SECRET=.*/MYBROKER_SIGNING_CURSOR_SECRET=$(random 48)/" \
      .env.example > .env
  chmod 600 .env
  echo "wrote .env (first admin: $(grep '^MYBROKER_ADMIN_EMAIL=' .env | cut -d= -f2) / $admin_password)"
fi

# Secrets added after an .env was made (the page cursor keys, the per-process RabbitMQ and
# MongoDB users): filled in, the rest kept. MongoDB creates its users only on an empty volume
# (deploy/README.md "Rotating keys" says how to add them to an existing one).
if ! grep -q "^MONGO_ROOT_USER=." .env; then
  echo "MONGO_ROOT_USER=mybroker-admin" >> .env
fi
for name in MYBROKER_DOSSIER_CURSOR_SECRET MYBROKER_AUTH_CURSOR_SECRET \
    MYBROKER_REQUESTS_CURSOR_SECRET MYBROKER_DOCUMENTS_CURSOR_SECRET \
    MYBROKER_SIGNING_CURSOR_SECRET MONGO_ROOT_PASSWORD MYBROKER_SIGNING_SEAL_PASSPHRASE \
    MONGO_REPLICA_KEY $(for p in $processes; do echo "RABBITMQ_PASSWORD_${p^^}"; done) \
    $(for s in $services; do echo "MONGO_PASSWORD_${s^^}"; done); do
  if ! grep -q "^$name=." .env; then
    sed -i "/^$name=/d" .env
    echo "$name=$(random 48)" >> .env
    echo "added $name to .env"
  fi
done

# The data exports' key (added after the first .env): an access key MinIO takes (short).
if ! grep -q "^MYBROKER_EXPORT_S3_ACCESS_KEY=." .env; then
  sed -i "/^MYBROKER_EXPORT_S3_ACCESS_KEY=/d;/^MYBROKER_EXPORT_S3_SECRET_KEY=/d" .env
  echo "MYBROKER_EXPORT_S3_ACCESS_KEY=exports$(random 8)" >> .env
  echo "MYBROKER_EXPORT_S3_SECRET_KEY=$(random 40)" >> .env
  echo "added the data exports' S3 key to .env"
fi

env_value() { grep "^$1=" .env | cut -d= -f2-; }

if $force || [ ! -f "$secrets/jwt-private.pem" ]; then
  openssl genpkey -algorithm ed25519 -out "$secrets/jwt-private.pem"
  openssl pkey -in "$secrets/jwt-private.pem" -pubout -out "$secrets/jwt-public.pem"
  chmod 600 "$secrets/jwt-private.pem"
  chmod 644 "$secrets/jwt-public.pem"
  give_to 10001:10001 "$secrets/jwt-private.pem"  # auth's user in the image
  echo "wrote $secrets/jwt-private.pem and jwt-public.pem"
fi

if $force || [ ! -f "$secrets/signing-seal.p12" ]; then
  work="$(mktemp -d)"
  openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/C=BE/O=MyBroker demo/CN=Demo Sealing CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$work/ca.key" -out "$secrets/signing-ca.pem" 2>/dev/null
  openssl req -newkey rsa:3072 -nodes -subj "/C=BE/O=MyBroker demo/CN=Demo office seal" \
    -keyout "$work/seal.key" -out "$work/seal.csr" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n' \
    > "$work/seal.ext"
  openssl x509 -req -in "$work/seal.csr" -CA "$secrets/signing-ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days 825 -extfile "$work/seal.ext" -out "$work/seal.crt" 2>/dev/null
  openssl pkcs12 -export -inkey "$work/seal.key" -in "$work/seal.crt" \
    -certfile "$secrets/signing-ca.pem" -passout "pass:$(env_value MYBROKER_SIGNING_SEAL_PASSPHRASE)" \
    -out "$secrets/signing-seal.p12"
  rm -rf "$work"
  chmod 600 "$secrets/signing-seal.p12"
  give_to 10001:10001 "$secrets/signing-seal.p12"  # the signing service's user in the image
  echo "wrote $secrets/signing-seal.p12 and signing-ca.pem (a demo seal)"
fi

if $force || [ ! -f "$secrets/tls/tls.crt" ]; then
  openssl req -x509 -newkey rsa:3072 -nodes -days 365 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$secrets/tls/tls.key" -out "$secrets/tls/tls.crt" 2>/dev/null
  chmod 600 "$secrets/tls/tls.key"  # read by nginx's master process, which runs as root
  echo "wrote $secrets/tls/tls.crt (self-signed, localhost, 365 days)"
fi

# RabbitMQ's users as definitions loaded at boot (deploy/compose/rabbitmq.conf): the
# administrator (management UI) and one user per process with the rights of its k8s Permission.
rabbit_hash() {  # password -> salted SHA-256 as RabbitMQ stores it: base64(salt + sha256(salt + pw))
  local salt
  salt="$(mktemp)"
  openssl rand 4 > "$salt"
  { cat "$salt"; printf '%s' "$1"; } | openssl dgst -sha256 -binary | cat "$salt" - | base64 -w0
  rm -f "$salt"
}
rabbit_user() {  # name, password, tags
  printf '    {"name": "%s", "password_hash": "%s", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": [%s]}' \
    "$1" "$(rabbit_hash "$2")" "$3"
}
rabbit_permission() {  # user, configure/read pattern, write pattern
  printf '    {"user": "%s", "vhost": "mybroker", "configure": "%s", "write": "%s", "read": "%s"}' \
    "$1" "$2" "$3" "$2"
}
definitions="$secrets/rabbitmq-definitions.json"
if $force || [ ! -f "$definitions" ]; then
  admin="$(env_value RABBITMQ_USER)"
  users=("$(rabbit_user "$admin" "$(env_value RABBITMQ_PASSWORD)" '"administrator"')")
  permissions=("$(rabbit_permission "$admin" '.*' '.*')")
  for p in $processes; do
    # JSON strings: "\\." is the regular expression's "\." (a dot).
    names='\\..+|rpc\\.reply\\..+|mybroker\\.events|mybroker\\.dead'
    own="^($p$names)\$"
    users+=("$(rabbit_user "mybroker-$p" "$(env_value "RABBITMQ_PASSWORD_${p^^}")" '')")
    permissions+=("$(rabbit_permission "mybroker-$p" "$own" "^($p$names|amq\\\\.default)\$")")
  done
  {
    echo '{'
    echo '  "vhosts": [{"name": "mybroker"}],'
    echo '  "users": ['
    (IFS=$'\n'; printf '%s\n' "${users[@]}") | sed '$!s/$/,/'
    echo '  ],'
    echo '  "permissions": ['
    (IFS=$'\n'; printf '%s\n' "${permissions[@]}") | sed '$!s/$/,/'
    echo '  ]'
    echo '}'
  } > "$definitions"
  chmod 600 "$definitions"
  give_to 999:999 "$definitions"  # the rabbitmq user of the official image
  echo "wrote $definitions"
fi
