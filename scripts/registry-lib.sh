# Shared by scripts/demo.sh and scripts/bench.sh: start a throwaway
# docker-registry on a free 127.0.0.1 port and push images through the
# registry HTTP API with curl. Source it; it sets $work, $reg and a trap.
# shellcheck shell=bash

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg="127.0.0.1:$port"
cat > "$work/registry.yml" <<YML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $work/storage}
  delete: {enabled: true}
http: {addr: $reg}
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "http://$reg/v2/" >/dev/null && break; sleep 0.1; done
curl -fs "http://$reg/v2/" >/dev/null || { cat "$work/registry.log" >&2; exit 2; }

# push_blob REPO FILE -> digest
push_blob() {
  local digest loc
  digest="sha256:$(sha256sum "$2" | cut -d' ' -f1)"
  loc=$(curl -fsS -X POST -D - -o /dev/null "http://$reg/v2/$1/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
  case "$loc" in http*) ;; *) loc="http://$reg$loc" ;; esac
  case "$loc" in *\?*) loc="$loc&digest=$digest" ;; *) loc="$loc?digest=$digest" ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$2" "$loc" >/dev/null
  echo "$digest"
}
# push_manifest REPO REF MEDIATYPE FILE -> digest
push_manifest() {
  curl -fsS -X PUT -H "Content-Type: $3" --data-binary @"$4" "http://$reg/v2/$1/manifests/$2" >/dev/null
  echo "sha256:$(sha256sum "$4" | cut -d' ' -f1)"
}
# image REPO ARCH MANIFEST_MEDIATYPE -> writes $work/m.json, prints nothing
image() {
  local cfg layer cd ld
  cfg="$work/cfg-$RANDOM.json"; layer="$work/layer-$RANDOM.bin"
  printf '{"architecture":"%s","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' "$2" >"$cfg"
  head -c 64 /dev/urandom >"$layer"
  cd=$(push_blob "$1" "$cfg"); ld=$(push_blob "$1" "$layer")
  local cfg_type="application/vnd.oci.image.config.v1+json" layer_type="application/vnd.oci.image.layer.v1.tar+gzip"
  if [ "$3" = "application/vnd.docker.distribution.manifest.v2+json" ]; then
    cfg_type="application/vnd.docker.container.image.v1+json"; layer_type="application/vnd.docker.image.rootfs.diff.tar.gzip"
  fi
  printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%d},"layers":[{"mediaType":"%s","digest":"%s","size":%d}]}' \
    "$3" "$cfg_type" "$cd" "$(stat -c %s "$cfg")" "$layer_type" "$ld" "$(stat -c %s "$layer")" >"$work/m.json"
}
oci_m=application/vnd.oci.image.manifest.v1+json
docker_m=application/vnd.docker.distribution.manifest.v2+json
# index REPO TAG INDEX_TYPE CHILD_TYPE
index() {
  local entries="" arch d size
  for arch in amd64 arm64; do
    image "$1" "$arch" "$4"
    d=$(push_manifest "$1" "$(sha256sum "$work/m.json" | cut -c1-12)" "$4" "$work/m.json")
    size=$(stat -c %s "$work/m.json")
    entries="$entries${entries:+,}{\"mediaType\":\"$4\",\"digest\":\"$d\",\"size\":$size,\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"}}"
  done
  printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s]}' "$3" "$entries" >"$work/i.json"
  push_manifest "$1" "$2" "$3" "$work/i.json" >/dev/null
}

