# syntax=docker/dockerfile:1
# Build: docker build -t switchboard .
# Run:   docker run -p 8080:8080 -v $PWD/switchboard.yaml:/etc/switchboard/switchboard.yaml:ro \
#          -v switchboard-data:/var/lib/switchboard -e OPENAI_API_KEY switchboard

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY examples ./examples
RUN cargo build --release --locked --bin switchboard \
 && mkdir -p /out/data \
 && cp target/release/switchboard /out/switchboard

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/switchboard /usr/local/bin/switchboard
COPY --from=build --chown=65532:65532 /out/data /var/lib/switchboard
COPY config.example.yaml /etc/switchboard/switchboard.yaml
ENV SWITCHBOARD_CONFIG=/etc/switchboard/switchboard.yaml
WORKDIR /var/lib/switchboard
VOLUME ["/var/lib/switchboard"]
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 CMD ["/usr/local/bin/switchboard", "health", "--url", "http://127.0.0.1:8080/health"]
ENTRYPOINT ["/usr/local/bin/switchboard"]
CMD ["serve"]
