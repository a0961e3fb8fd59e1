# syntax=docker/dockerfile:1
# Portico: one static binary on a distroless base, run as a non-root user.
#   docker build -t portico .
#   docker run -e PORTICO_DATABASE_URL=... portico migrate up
#   docker run -e PORTICO_DATABASE_URL=... -p 8080:8080 portico serve
# deploy/compose.yaml runs it with PostgreSQL; docs/operations.md says what
# each process needs.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# CGO off: a static binary that needs no libc in the final image.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/portico ./cmd/portico

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portico /usr/local/bin/portico
# Listen on every interface inside the container (the default is loopback).
ENV PORTICO_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
# No shell or curl here: the binary asks its own /readyz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/portico", "health", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/portico"]
CMD ["serve"]
