# syntax=docker/dockerfile:1
# Build: docker build -t hubspot-actions .
# Run:   docker run -p 8080:8080 -v hubspot-actions-data:/data --env-file prod.env hubspot-actions
# (Without HubSpot settings the binary starts a sandbox, which listens on the
# container's loopback only and is therefore unreachable: configure it.)
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
# Only the sources: never local data (sandbox secrets, databases) or builds.
COPY cmd ./cmd
COPY actions ./actions
COPY oauth ./oauth
COPY store ./store
# mattn/go-sqlite3 needs cgo; distroless/base has the glibc it links against.
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/hubspot-actions ./cmd/hubspot-actions \
 && mkdir -p /out/data

FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/hubspot-actions /usr/local/bin/hubspot-actions
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV DATABASE_URL=/data/hubspot-actions.db
# Metrics on their own port, for a scraper on the container's network (the
# run line above does not publish it).
ENV METRICS_ADDR=:9090
VOLUME /data
EXPOSE 8080 9090
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/hubspot-actions"]
CMD ["serve"]
