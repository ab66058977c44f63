# Sourced by ./mvnw (POSIX sh, `set -euf`): make sure Maven runs on a JDK 21 or newer.
#
# Our machines have an older default `java` beside a newer JDK, so keep JAVA_HOME when it already points
# at 21+, and otherwise export the newest 21+ JDK found in the usual install folders. When none is found,
# leave things as they are: the enforcer rule in pom.xml then fails with a message that says what to install.

cqrs_java_feature() { # prints the feature release of the java binary $1 (17, 21, 25...), or 0
  "$1" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9.]*\).*/\1/p' | sed 's/^1\.//; s/\..*//' | head -n 1 | grep . ||
    echo 0
}

cqrs_current_java=java
[ -n "${JAVA_HOME-}" ] && [ -x "$JAVA_HOME/bin/java" ] && cqrs_current_java="$JAVA_HOME/bin/java"
if ! command -v "$cqrs_current_java" >/dev/null 2>&1 || [ "$(cqrs_java_feature "$cqrs_current_java")" -lt 21 ]; then
  cqrs_best_home=""
  cqrs_best_feature=20
  for cqrs_home in $(find /usr/lib/jvm /usr/local/lib/jvm /opt/java /Library/Java/JavaVirtualMachines \
    -mindepth 1 -maxdepth 1 2>/dev/null); do
    [ -x "$cqrs_home/Contents/Home/bin/java" ] && cqrs_home="$cqrs_home/Contents/Home"
    [ -x "$cqrs_home/bin/javac" ] || continue
    cqrs_feature="$(cqrs_java_feature "$cqrs_home/bin/java")"
    if [ "$cqrs_feature" -gt "$cqrs_best_feature" ]; then
      cqrs_best_home="$cqrs_home"
      cqrs_best_feature="$cqrs_feature"
    fi
  done
  if [ -n "$cqrs_best_home" ]; then
    JAVA_HOME="$cqrs_best_home"
    export JAVA_HOME
  fi
fi
unset cqrs_current_java cqrs_best_home cqrs_best_feature cqrs_home cqrs_feature
