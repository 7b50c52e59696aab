# exo-deploy as a container image, for CI systems that prefer images to binaries:
#   docker build -t exo-deploy .
#   docker run --rm -v "$PWD:/app" -w /app exo-deploy --dry-run
# (Not built in this repo's CI: its machines cannot pull base images.)
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin exo-deploy

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/exo-deploy /usr/local/bin/exo-deploy
ENTRYPOINT ["exo-deploy"]
