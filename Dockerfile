# syntax=docker/dockerfile:1
# One image recipe for the three services: docker build --build-arg MODULE=write-service . (docker-compose.yml does it).

# Build with the project's own Maven wrapper on a JDK 25; only the module asked for and what it depends on.
FROM eclipse-temurin:25-jdk-noble AS build
ARG MODULE
WORKDIR /src
COPY . .
# Tests and the format check ran in CI (./mvnw -B verify); the cache mount keeps ~/.m2 between builds.
RUN --mount=type=cache,target=/root/.m2 \
    test -n "${MODULE}" || { echo "build with --build-arg MODULE=<write-service|projector-service|read-service>"; exit 1; }; \
    ./mvnw -B -q -DskipTests -Dspotless.check.skip=true -pl "${MODULE}" -am package \
    && cp "${MODULE}/target/${MODULE}-"*.jar /app.jar

# Run on a JRE 25 as an unprivileged user; curl only for the healthcheck.
FROM eclipse-temurin:25-jre-noble
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system cqrs \
    && useradd --system --gid cqrs --no-create-home --home-dir /app cqrs
WORKDIR /app
COPY --from=build --chown=root:root /app.jar /app/app.jar
USER cqrs
# Each service is sized to be healthy with a 256 MB heap (DESIGN.md); override JAVA_TOOL_OPTIONS to change it.
ENV JAVA_TOOL_OPTIONS="-Xmx256m -XX:+ExitOnOutOfMemoryError"
ENTRYPOINT ["java", "-jar", "/app/app.jar"]
