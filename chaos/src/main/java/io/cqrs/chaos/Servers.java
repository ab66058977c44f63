package io.cqrs.chaos;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * The servers a suite runs the services against, its own on free loopback ports: Redis, and one PostgreSQL cluster
 * for the write database and one for the read database (made in parallel: initdb is the slow part).
 */
record Servers(RedisServer redis, PostgresCluster writeDb, PostgresCluster readDb) {

    static Servers start(Path work, Path pgBin, Resources resources) {
        var redis = resources.add(new RedisServer(work));
        redis.start();
        var writeDb = CompletableFuture.supplyAsync(
                () -> resources.add(PostgresCluster.create(work, pgBin, "write-db", "cqrs_write")));
        var readDb = CompletableFuture.supplyAsync(
                () -> resources.add(PostgresCluster.create(work, pgBin, "read-db", "cqrs_read")));
        return new Servers(redis, writeDb.join(), readDb.join());
    }

    String writeDbUrl() {
        return writeDb.jdbcUrl("cqrs_write");
    }

    String readDbUrl() {
        return readDb.jdbcUrl("cqrs_read");
    }
}
