# syntax=docker/dockerfile:1
#
# dnsfailover image: one static (musl) binary on distroless/static, running as
# a non-root numeric user. No shell, no package manager; about 15 MB.
#
#   docker build -t dnsfailover:dev .

FROM rust:1.95-bookworm AS build
ARG TARGETARCH=amd64
# musl-tools: `ring` compiles C for the musl target.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/*
RUN case "$TARGETARCH" in \
      amd64) echo x86_64-unknown-linux-musl > /target ;; \
      arm64) echo aarch64-unknown-linux-musl > /target ;; \
      *) echo "unsupported architecture $TARGETARCH" >&2; exit 1 ;; \
    esac \
    && rustup target add "$(cat /target)"
WORKDIR /src

# Dependencies first: this layer is reused until Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && for bench in $(sed -n 's/^path = "\(benches\/[^"]*\)"/\1/p' Cargo.toml); do echo 'fn main() {}' > "$bench"; done \
    && cargo build --release --locked --target "$(cat /target)" --bin dnsfailover \
    && rm -rf src benches

COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --target "$(cat /target)" --bin dnsfailover \
    && cp "target/$(cat /target)/release/dnsfailover" /dnsfailover

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /dnsfailover /dnsfailover
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/dnsfailover"]
CMD ["run"]
