# modeldoc as a static binary in a distroless image that runs as a non-root
# user. Build:  docker build -t modeldoc .
#
#   docker run -p 8080:8080 -v modeldoc-data:/data modeldoc                  # serve (the default)
#   docker run -v modeldoc-data:/data modeldoc tokens create --role admin    # any command
#   docker run -e MODELDOC_DB=postgres://... -e MODELDOC_SECRET_KEY=... modeldoc worker
#
# See docs/ci.md ("Docker") for what was verified of this file and how.

FROM golang:1.26 AS build
WORKDIR /src
# The modules first: a change to the source does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: the SQLite driver is modernc.org/sqlite, pure Go, so the
# binary needs no C library and runs on an image without one.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/modeldoc ./cmd/modeldoc \
 && mkdir -p /out/data

# distroless/static: CA certificates (for the providers' HTTPS APIs),
# tzdata and /etc/passwd with the nonroot user (65532), nothing else: no
# shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/modeldoc /usr/local/bin/modeldoc
# The SQLite store, its -wal and -shm files and the master key file
# (secret.key, made on first use unless MODELDOC_SECRET_KEY is set) live
# in /data, owned by the user the process runs as.
COPY --from=build --chown=65532:65532 /out/data /data
ENV MODELDOC_DB=/data/modeldoc.db
VOLUME ["/data"]
USER 65532:65532
EXPOSE 8080
# No HEALTHCHECK: the image has no shell or curl to run one. Probe
# GET /healthz (liveness: the process answers) and GET /readyz (readiness:
# the store answers) over HTTP from the orchestrator instead, e.g.
# Kubernetes' httpGet probes on port 8080.
ENTRYPOINT ["/usr/local/bin/modeldoc"]
# serve listens on 127.0.0.1 by default; in a container it must listen on
# every interface for -p to reach it.
CMD ["serve", "--addr", "0.0.0.0:8080"]
