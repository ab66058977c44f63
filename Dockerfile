# syntax=docker/dockerfile:1
# One image recipe for the three services: docker build --build-arg MODULE=write-service . (docker-compose.yml does it).
# Needs BuildKit (the cache mount, COPY --chmod): docker compose v2 and Docker 23+ use it by default; with Compose 1.x or
# an older Docker, set DOCKER_BUILDKIT=1 (the classic builder stops at the first RUN --mount).

# Build with the project's own Maven wrapper on a JDK 25; only the module asked for and what it depends on.
FROM eclipse-temurin:25-jdk-noble AS build
ARG MODULE
WORKDIR /src
COPY . .
# Tests and the format check ran in CI (./mvnw -B verify); the cache mount keeps ~/.m2 between builds. Compose builds
# the three services at once, all with this one cache: locked, so that one build at a time writes to it (Maven's local
# repository is not safe for concurrent writers).
RUN --mount=type=cache,target=/root/.m2,sharing=locked \
    test -n "${MODULE}" || { echo "build with --build-arg MODULE=<write-service|projector-service|read-service>"; exit 1; }; \
    ./mvnw -B -q -DskipTests -Dspotless.check.skip=true -pl "${MODULE}" -am package \
    && cp "${MODULE}/target/${MODULE}-"*.jar /app.jar
# The extracted layout (the application's jar and lib/), the only one whose classes an AOT cache can hold; the sha256 of
# the jar it came from tells the entrypoint whether a cache in /app/aot was made from this very build.
RUN java -Djarmode=tools -jar /app.jar extract --destination /app \
    && mv /app/"${MODULE}"-*.jar /app/app.jar \
    && sha256sum /app.jar | cut -d' ' -f1 >/app/app.jar.sha256

# Run on a JRE 25 as an unprivileged user; curl only for the healthcheck.
FROM eclipse-temurin:25-jre-noble
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system cqrs \
    && useradd --system --gid cqrs --no-create-home --home-dir /app cqrs
WORKDIR /app
COPY --from=build --chown=root:root /app /app
COPY --chown=root:root --chmod=755 ops/aot-entrypoint.sh /app/entrypoint.sh
# The AOT cache's place: the entrypoint uses a cache made from this build, and trains one (written at stop) when a
# volume is mounted here (docker-compose.yml does); without a volume the service simply runs without a cache.
RUN mkdir /app/aot && chown cqrs:cqrs /app/aot
USER cqrs
# Each service is sized to be healthy with a 256 MB heap (DESIGN.md), all of it taken at the start (see stack.sh);
# override JAVA_TOOL_OPTIONS to change it.
ENV JAVA_TOOL_OPTIONS="-Xms256m -Xmx256m -XX:+ExitOnOutOfMemoryError"
ENTRYPOINT ["/app/entrypoint.sh"]
