#!/usr/bin/env bash
# Creates (or keeps) the Secrets the dev overlay references, with random values; nothing secret is
# committed. Needs kubectl and openssl; run before `kubectl apply -k deploy/k8s/overlays/dev`.
# Prints the first admin's login. NAMESPACE=... to use another namespace.
set -euo pipefail
ns="${NAMESPACE:-mybroker-dev}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
random() { openssl rand -base64 48 | tr -dc 'A-Za-z0-9' | head -c "${1:-32}"; }

kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
make_secret() {  # name, then kubectl create secret arguments; an existing Secret is kept
  local name="$1"; shift
  if kubectl -n "$ns" get secret "$name" >/dev/null 2>&1; then
    echo "kept secret/$name"
  else
    kubectl -n "$ns" create secret "$@" "$name" >/dev/null && echo "created secret/$name"
  fi
}

rabbit_password="$(random 32)"
admin_password="$(random 20)"
make_secret mybroker-rabbitmq generic --from-literal=username=mybroker \
  --from-literal=password="$rabbit_password"
# The Deployments name one Secret per process (prod: its own user); dev shares one login.
for process in auth dossier requests documents signing notifier gateway; do
  make_secret "mybroker-amqp-$process" generic \
    --from-literal=url="amqp://mybroker:${rabbit_password}@rabbitmq:5672/mybroker"
done
for service in auth dossier requests documents signing notifier; do
  make_secret "mybroker-mongo-$service" generic \
    --from-literal=connectionString.standard="mongodb://mongo:27017/?replicaSet=rs0"
done
make_secret mybroker-minio-root generic --from-literal=username=minio-root \
  --from-literal=password="$(random 32)"
make_secret mybroker-documents-s3 generic --from-literal=access-key="documents$(random 8)" \
  --from-literal=secret-key="$(random 40)"
make_secret mybroker-exports-s3 generic --from-literal=access-key="exports$(random 8)" \
  --from-literal=secret-key="$(random 40)"
make_secret mybroker-auth-bootstrap generic --from-literal=email=admin@mybroker.localhost \
  --from-literal=password="$admin_password"
make_secret mybroker-proxy generic --from-literal=secret="$(random 48)"
make_secret mybroker-cursor-keys generic --from-literal=dossier="$(random 48)" \
  --from-literal=auth="$(random 48)" --from-literal=requests="$(random 48)" \
  --from-literal=documents="$(random 48)" --from-literal=signing="$(random 48)"
make_secret mybroker-notifier-smtp generic --from-literal=username= --from-literal=password=

openssl genpkey -algorithm ed25519 -out "$work/private.pem"
openssl pkey -in "$work/private.pem" -pubout -out "$work/public.pem"
if ! kubectl -n "$ns" get secret mybroker-jwt-signing >/dev/null 2>&1; then
  make_secret mybroker-jwt-signing generic --from-file=private.pem="$work/private.pem"
  kubectl -n "$ns" delete secret mybroker-jwt-public --ignore-not-found >/dev/null
  make_secret mybroker-jwt-public generic --from-file=public.pem="$work/public.pem"
fi

if ! kubectl -n "$ns" get secret mybroker-signing-seal >/dev/null 2>&1; then
  # A demo sealing CA and office seal (the office's own seal replaces it: deploy/README.md).
  seal_passphrase="$(random 32)"
  openssl req -x509 -newkey rsa:3072 -nodes -days 3650 \
    -subj "/C=BE/O=MyBroker demo/CN=Demo Sealing CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$work/seal-ca.key" -out "$work/seal-ca.pem" 2>/dev/null
  openssl req -newkey rsa:3072 -nodes -subj "/C=BE/O=MyBroker demo/CN=Demo office seal" \
    -keyout "$work/seal.key" -out "$work/seal.csr" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n' \
    > "$work/seal.ext"
  openssl x509 -req -in "$work/seal.csr" -CA "$work/seal-ca.pem" -CAkey "$work/seal-ca.key" \
    -CAcreateserial -days 825 -extfile "$work/seal.ext" -out "$work/seal.crt" 2>/dev/null
  openssl pkcs12 -export -inkey "$work/seal.key" -in "$work/seal.crt" \
    -certfile "$work/seal-ca.pem" -passout "pass:$seal_passphrase" -out "$work/seal.p12"
  make_secret mybroker-signing-seal generic --from-file=seal.p12="$work/seal.p12" \
    --from-file=ca.pem="$work/seal-ca.pem" --from-literal=passphrase="$seal_passphrase"
fi

openssl req -x509 -newkey rsa:3072 -nodes -days 365 -subj "/CN=portal.mybroker.localhost" \
  -addext "subjectAltName=DNS:portal.mybroker.localhost,DNS:eid.mybroker.localhost" \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
make_secret mybroker-tls tls --cert="$work/tls.crt" --key="$work/tls.key"
# No real eID CA in dev: the self-signed certificate stands in (verify mode optional_no_ca).
make_secret mybroker-eid-ca generic --from-file=ca.crt="$work/tls.crt"

if kubectl -n "$ns" get secret mybroker-auth-bootstrap -o name >/dev/null 2>&1; then
  echo "first admin: admin@mybroker.localhost (password: kubectl -n $ns get secret" \
       "mybroker-auth-bootstrap -o jsonpath='{.data.password}' | base64 -d)"
fi
