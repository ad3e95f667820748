# syntax=docker/dockerfile:1

# Build a static binary. grpcnotrace leaves out gRPC's golang.org/x/net/trace
# debug pages (linked through the OTLP packages, never served here): their
# templates would keep every method of every type in the binary.
# bench/run builds with the same flags to measure the size.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -tags grpcnotrace -trimpath -ldflags="-s -w" -o /out/flowbridge ./cmd/flowbridge

# Run it on distroless (CA certificates for the supplier APIs, no shell),
# as the image's unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/flowbridge /usr/local/bin/flowbridge
# The same defaults as `go run ./cmd/flowbridge` (README): sandbox supplier,
# in-process store, port 8080. Set FLOWBRIDGE_API_KEYS, or the key printed
# at start-up changes on every restart.
ENV FLOWBRIDGE_ADDR=:8080 \
    FLOWBRIDGE_SUPPLIER=sandbox
EXPOSE 8080
USER nonroot:nonroot
# distroless has no curl: the binary checks its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/flowbridge", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/flowbridge"]
CMD ["serve"]
