# syntax=docker/dockerfile:1
# emqx-autorebalancer container image.
#   docker build -t REGISTRY/emqx-autorebalancer:TAG .
# Builder and runtime share Debian 12 (bookworm), so the binary finds the glibc it was linked against. The Swift
# runtime and Foundation are linked in (--static-swift-stdlib); the runtime image has no shell and no package
# manager, only glibc, libstdc++, CA certificates and the nonroot user (65532).
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${SWIFT_IMAGE} AS build
WORKDIR /src
# Dependencies first: this layer is reused while only the sources change.
COPY Package.swift ./
RUN swift package resolve
# The whole package (Package.swift names test and benchmark targets too, whose folders must exist); .dockerignore
# keeps out build products and what the image does not need.
COPY . .
RUN swift build -c release --static-swift-stdlib --product emqx-autorebalancer \
    && mkdir -p /out \
    && cp "$(swift build -c release --show-bin-path)/emqx-autorebalancer" /out/emqx-autorebalancer \
    && strip /out/emqx-autorebalancer

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="emqx-autorebalancer" \
      org.opencontainers.image.description="Keeps EMQX clusters on Kubernetes balanced with Rebalance resources"
COPY --from=build /out/emqx-autorebalancer /usr/local/bin/emqx-autorebalancer
# Numeric, so that runAsNonRoot can verify it without reading /etc/passwd.
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/emqx-autorebalancer"]
CMD ["run", "--config", "/etc/emqx-autorebalancer/config/agent.yaml"]
