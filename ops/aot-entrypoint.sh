#!/bin/sh
# The services' image entrypoint (Dockerfile). Runs the extracted jar, /app/app.jar with its libraries in /app/lib/,
# with the JDK 25 AOT cache in /app/aot/ when that cache was made from this very build; else, when a volume is mounted
# on /app/aot/, this run is the training run: the JVM records what the service loads and profiles under its real load
# and writes the cache as it stops, for the next start (README, "Start-up and the AOT cache"). CQRS_AOT=off: neither.
set -eu
dir=/app/aot
jar=/app/app.jar
build=$(cat /app/app.jar.sha256)

if [ "${CQRS_AOT:-auto}" = off ]; then
  exec java -jar "$jar" "$@"
fi
if [ -s "$dir/app.aot" ] && [ "$(cat "$dir/app.aot.sha256" 2>/dev/null || true)" = "$build" ]; then
  # auto: a cache the JVM cannot use (another JDK build, other options, damaged) is reported and skipped, never fatal.
  exec java -XX:AOTMode=auto -XX:AOTCache="$dir/app.aot" -jar "$jar" "$@"
fi
if ! grep -q " $dir " /proc/self/mountinfo || [ ! -w "$dir" ]; then
  echo "[aot] no AOT cache for this build in $dir (mount a writable volume there to make one): starting without" >&2
  exec java -jar "$jar" "$@"
fi

echo "[aot] no AOT cache for this build in $dir: this run trains one, written when the service stops" >&2
# Instances of a scaled service share the volume: each trains into a file of its own and renames it into place (the
# last to stop wins, whole), so that none writes over another's cache half-way.
training="$dir/training.$(cat /proc/sys/kernel/hostname).aot"
rm -f "$dir/app.aot" "$dir/app.aot.sha256" "$training"
java -XX:AOTCacheOutput="$training" -jar "$jar" "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM INT
status=0
# wait returns early when a signal comes in; the JVM then still writes the cache before it exits.
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid" || status=$?
done
if [ -s "$training" ]; then
  mv "$training" "$dir/app.aot"
  echo "$build" >"$dir/app.aot.sha256"
  echo "[aot] wrote $dir/app.aot: the next start uses it" >&2
fi
exit "$status"
