package io.cqrs.chaos;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/** Where a service's repackaged jar is: the newest {@code <module>-*.jar} in its {@code target/}. */
final class ServiceJars {

    private ServiceJars() {}

    static Path of(Path root, String module) {
        Path target = root.resolve(module).resolve("target");
        var pattern = target.getFileSystem().getPathMatcher("glob:" + module + "-*.jar");
        try (var files = Files.list(target)) {
            return files.filter(p -> pattern.matches(p.getFileName()))
                    .filter(p -> !p.getFileName().toString().matches(".*-(plain|sources|javadoc|tests)\\.jar"))
                    .max(Comparator.comparing(ServiceJars::modified))
                    .orElseThrow(() -> new IllegalStateException(
                            "no " + module + " jar in " + target + ": run ./mvnw -B -q -DskipTests package"));
        } catch (IOException e) {
            throw new UncheckedIOException("no " + target + ": run ./mvnw -B -q -DskipTests package", e);
        }
    }

    private static long modified(Path file) {
        try {
            return Files.getLastModifiedTime(file).toMillis();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
