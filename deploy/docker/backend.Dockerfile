# syntax=docker/dockerfile:1
# The BillPay backend: `billpay serve`. Build from the repository root:
#   docker build -f deploy/docker/backend.Dockerfile -t billpay-backend .
# Stage 1 builds with the pinned Rust toolchain; the runtime image has the binary and nothing else
# (distroless: no shell, no package manager, no build tools), and runs as a non-root user.

FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p billpay \
    && cp target/release/billpay /billpay

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /billpay /usr/local/bin/billpay
USER 65532:65532
EXPOSE 8080
ENV BILLPAY_LISTEN=0.0.0.0:8080 BILLPAY_LOG_FORMAT=json
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/billpay"]
CMD ["serve"]
