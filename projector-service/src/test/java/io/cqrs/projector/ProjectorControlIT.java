package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.jayway.jsonpath.DocumentContext;
import com.jayway.jsonpath.JsonPath;
import io.cqrs.events.RecordEvent;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import io.cqrs.stream.StreamEntryId;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.TestApiKeys;
import io.lettuce.core.Consumer;
import io.lettuce.core.XReadArgs;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.test.context.TestPropertySource;

/**
 * The projector endpoint ({@code io.cqrs.projector.control}) as an operator uses it: over HTTP on the management port
 * with the admin key, against the real Redis and read database. In a package of the projector's own so that it can
 * start a second consumer in the group. The janitor is slowed down, so that entries stay in the stream to be replayed
 * and counted.
 */
@TestPropertySource(properties = "cqrs.projector.trim-interval=1h")
class ProjectorControlIT extends ProjectorTestSupport {

    static final String PROJECTOR = "/actuator/projector";

    @LocalManagementPort
    int managementPort;

    @Autowired
    StreamConsumer consumer;

    @Autowired
    LazyRedisConnection sharedRedis;

    @Autowired
    RedisConnections redisConnections;

    @Autowired
    BatchApplier batches;

    @Autowired
    ProjectorMetrics metrics;

    LocalHttp admin;

    @BeforeEach
    void asAnOperator() {
        admin = new LocalHttp(managementPort).as(TestApiKeys.ADMIN);
    }

    /** Every test leaves the group running, whatever it paused. */
    @AfterEach
    void resumeEverything() {
        consumer.resumeGroup();
        consumer.resumeInstance();
    }

    @Test
    void showsTheGroupAndItsConsumersWithTheirPendingEntries() {
        var ids = publish(List.of(written(prefix + "a", 1, 1)));
        awaitProjected();
        var running = status();
        assertThat(running.read("$.stream", String.class)).isEqualTo(stream.name());
        assertThat(running.read("$.group", String.class)).isEqualTo(group());
        assertThat(running.read("$.group_paused", Boolean.class)).isFalse();
        assertThat(running.read("$.this_consumer", String.class)).isEqualTo("projector-under-test");
        assertThat(running.read("$.group_info.pending", Long.class)).isZero();
        assertThat(running.read("$.group_info.lag", Long.class)).isZero();
        assertThat(running.read("$.group_info.lag_seconds", Double.class)).isZero();
        assertThat(running.read("$.group_info.last_delivered_id", String.class)).isEqualTo(ids.getLast());
        var me = consumerIn(running, "projector-under-test");
        assertThat(me).containsEntry("state", "running").containsEntry("position", ids.getLast());
        assertThat(me).containsKeys("pending", "idle_ms", "last_error", "last_error_at");

        // This instance paused; a consumer of another instance ("ghost") takes one entry and holds it; one stays
        // unread.
        assertThat(post("pause", "{}").statusCode()).isEqualTo(200);
        var held = publish(List.of(written(prefix + "b", 1, 1), written(prefix + "c", 1, 1)));
        String ghost = "ghost-" + prefix;
        assertThat(redis.xreadgroup(
                        Consumer.from(group(), ghost),
                        XReadArgs.Builder.count(1),
                        XReadArgs.StreamOffset.lastConsumed(stream.name())))
                .hasSize(1);

        var paused = status();
        assertThat(paused.read("$.group_paused", Boolean.class)).isFalse();
        assertThat(paused.read("$.group_info.pending", Long.class)).isEqualTo(1);
        assertThat(paused.read("$.group_info.lag", Long.class)).isEqualTo(1);
        assertThat(paused.read("$.group_info.last_delivered_id", String.class)).isEqualTo(held.getFirst());
        assertThat(consumerIn(paused, "projector-under-test"))
                .containsEntry("state", "paused")
                .containsEntry("pending", 0);
        assertThat(consumerIn(paused, ghost)).containsEntry("pending", 1).containsEntry("state", "running");

        // Resumed, this instance reads the unread entry and claims the ghost's once idle: nothing is left behind.
        assertThat(post("resume", "{}").statusCode()).isEqualTo(200);
        awaitProjected();
        assertThat(rows(prefix)).hasSize(3);
        assertThat(redis.xgroupDelconsumer(stream.name(), Consumer.from(group(), ghost)))
                .isZero();
    }

    @Test
    void aPausedInstanceReadsNothingAndResumesWhereItStoppedWithNothingLostOrDoubled() {
        awaitProjected();
        var before = state();
        var paused = JsonPath.parse(post("pause", "{\"scope\": \"instance\"}").body());
        assertThat(consumerIn(paused, "projector-under-test")).containsEntry("state", "paused");
        assertThat(paused.read("$.group_paused", Boolean.class)).isFalse();
        assertThat(pausedGauge()).isEqualTo(1.0);
        String stoppedAt = groupLastDelivered();

        var events = new ArrayList<RecordEvent>();
        for (int i = 0; i < 50; i++) {
            events.add(written(prefix + i, 1, 1));
        }
        var ids = publish(events);
        awaitNoReadsFor("projector-under-test", Duration.ofSeconds(1));

        assertThat(rows(prefix)).isEmpty();
        var waiting = status();
        assertThat(waiting.read("$.group_info.lag", Long.class)).isEqualTo(50);
        assertThat(waiting.read("$.group_info.last_delivered_id", String.class)).isEqualTo(stoppedAt);
        assertThat(state()).isEqualTo(before);

        var resumed = JsonPath.parse(post("resume", "{\"scope\": \"instance\"}").body());
        assertThat(consumerIn(resumed, "projector-under-test")).containsEntry("state", "running");
        assertThat(pausedGauge()).isZero();
        awaitProjected();

        assertThat(rows(prefix)).hasSize(50).allSatisfy(row -> {
            assertThat(row.version()).isEqualTo(1);
            assertThat(row.writeCount()).isEqualTo(1);
        });
        var after = state();
        assertThat(after.applied() - before.applied()).as("applied").isEqualTo(50);
        assertThat(after.stale() - before.stale()).as("stale (doubled)").isZero();
        assertThat(after.records() - before.records()).isEqualTo(50);
        assertThat(consumer.status().position()).isEqualTo(ids.getLast());
        assertCountersMatchRows();
        assertThat(count("cqrs.operator.actions", "operation", "projector.pause", "outcome", "succeeded"))
                .isPositive();
    }

    @Test
    void aGroupPauseHoldsEveryInstanceThoseStartedLaterTooAndNobodyClaims() {
        awaitProjected();
        var before = state();
        var paused = JsonPath.parse(post("pause", "{\"scope\": \"group\"}").body());
        assertThat(paused.read("$.group_paused", Boolean.class)).isTrue();
        assertThat(consumerIn(paused, "projector-under-test")).containsEntry("state", "paused");

        String secondName = "second-" + prefix;
        var second = secondConsumer(secondName);
        second.start();
        try {
            await().atMost(PATIENCE).until(() -> second.status().parked());
            assertThat(second.status().groupPaused()).isTrue();
            var events = new ArrayList<RecordEvent>();
            for (int i = 0; i < 20; i++) {
                events.add(written(prefix + i, 1, 1));
            }
            publish(events);
            // A consumer of a third instance took an entry before the pause reached it: while the group is paused,
            // nobody claims it, however long it stays idle.
            String ghost = "ghost-" + prefix;
            var taken = redis.xreadgroup(
                    Consumer.from(group(), ghost),
                    XReadArgs.Builder.count(1),
                    XReadArgs.StreamOffset.lastConsumed(stream.name()));
            assertThat(taken).hasSize(1);
            String heldId = taken.getFirst().getId();
            Duration claimIdle = properties.projector().claimIdle();
            await().atMost(PATIENCE)
                    .until(() -> pendingEntry(stream.name(), group(), heldId)
                                    .orElseThrow()
                                    .getMsSinceLastDelivery()
                            > claimIdle.multipliedBy(3).toMillis());
            awaitNoReadsFor("projector-under-test", Duration.ofSeconds(1));

            var entry = pendingEntry(stream.name(), group(), heldId).orElseThrow();
            assertThat(entry.getConsumer()).isEqualTo(ghost);
            assertThat(entry.getRedeliveryCount()).isEqualTo(1);
            assertThat(listedConsumers()).doesNotContain(secondName);
            assertThat(rows(prefix)).isEmpty();
            assertThat(state()).isEqualTo(before);
            var waiting = status();
            assertThat(waiting.read("$.group_info.lag", Long.class)).isEqualTo(19);
            assertThat(consumerIn(waiting, ghost)).containsEntry("state", "paused");

            assertThat(post("resume", "{\"scope\": \"group\"}").statusCode()).isEqualTo(200);
            awaitProjected();
            assertThat(rows(prefix)).hasSize(20);
            var after = state();
            assertThat(after.applied() - before.applied()).isEqualTo(20);
            assertThat(after.stale() - before.stale()).isZero();
            await().atMost(PATIENCE).until(() -> !second.status().parked());
            assertCountersMatchRows();
            redis.xgroupDelconsumer(stream.name(), Consumer.from(group(), ghost));
        } finally {
            second.stop();
        }
    }

    @Test
    void aResetDryRunCountsWhatItWouldReplayAndChangesNothing() {
        var events = new ArrayList<RecordEvent>();
        for (int i = 0; i < 30; i++) {
            events.add(written(prefix + i, 1, 1));
        }
        var ids = publish(events);
        awaitProjected();
        long audited = auditEntries(500).size();

        var byId = JsonPath.parse(post("reset", "{\"to_id\": \"" + ids.get(9) + "\", \"dry_run\": true}")
                .body());
        assertThat(byId.read("$.from_id", String.class)).isEqualTo(ids.getLast());
        assertThat(byId.read("$.to_id", String.class)).isEqualTo(ids.get(9));
        assertThat(byId.read("$.replays", Long.class)).isEqualTo(20);
        assertThat(byId.read("$.skips", Long.class)).isZero();
        assertThat(byId.read("$.dry_run", Boolean.class)).isTrue();
        assertThat(byId.read("$.counted_by", String.class)).isEqualTo("xrange");

        // A time replays every entry of that millisecond on: those published in the same millisecond as the tenth too.
        long millis = StreamEntryId.millisOf(ids.get(10));
        long sameOrLater =
                ids.stream().filter(id -> StreamEntryId.millisOf(id) >= millis).count();
        var byTime = JsonPath.parse(
                post("reset", "{\"to_time\": \"" + Instant.ofEpochMilli(millis) + "\", \"dry_run\": \"true\"}")
                        .body());
        assertThat(byTime.read("$.replays", Long.class)).isEqualTo(sameOrLater);
        assertThat(byTime.read("$.to_id", String.class)).isEqualTo((millis - 1) + "-" + Long.MAX_VALUE);

        assertThat(groupLastDelivered()).isEqualTo(ids.getLast());
        assertThat(auditEntries(500)).hasSize((int) audited);
    }

    @Test
    void aResetReplaysEntriesAndTheReadModelStaysTheSame() {
        var events = new ArrayList<RecordEvent>();
        for (int i = 0; i < 30; i++) {
            events.add(written(prefix + (i % 10), i / 10 + 1, i / 10 + 1));
        }
        var ids = publish(events);
        awaitProjected();
        var before = state();
        var rowsBefore = rows(prefix);

        var reset = post("reset", "{\"to_id\": \"" + ids.get(4) + "\", \"dry_run\": false}");
        assertThat(reset.statusCode()).as(reset.body()).isEqualTo(200);
        assertThat(JsonPath.parse(reset.body()).read("$.replays", Long.class)).isEqualTo(25);
        awaitProjected();

        var after = state();
        assertThat(after.stale() - before.stale()).as("replayed, all stale").isEqualTo(25);
        assertThat(after.applied()).isEqualTo(before.applied());
        assertThat(after.records()).isEqualTo(before.records());
        assertThat(after.totalWrites()).isEqualTo(before.totalWrites());
        assertThat(rows(prefix)).isEqualTo(rowsBefore);
        assertCountersMatchRows();
        var audited = auditEntries(1).getFirst();
        assertThat(audited)
                .containsEntry("operation", "projector.reset")
                .containsEntry("key_name", "test-admin")
                .containsEntry("outcome", "succeeded");
        assertThat((String) audited.get("parameters")).contains(ids.get(4));
    }

    @Test
    void aResetCountsFromRedisWhenItCanAndRefusesTargetsItCannotReplayExactly() {
        var ids =
                publish(List.of(written(prefix + "a", 1, 1), written(prefix + "b", 1, 1), written(prefix + "c", 1, 1)));
        awaitProjected();

        // Nothing removed yet: from the start, every entry of the stream is replayed, as Redis counts them.
        var fromStart = JsonPath.parse(
                post("reset", "{\"to_id\": \"0-0\", \"dry_run\": true}").body());
        assertThat(fromStart.read("$.counted_by", String.class)).isEqualTo("xinfo");
        assertThat(fromStart.read("$.replays", Long.class)).isEqualTo(redis.xlen(stream.name()));

        StreamEntryId last = StreamEntryId.parse(ids.getLast());
        String beyond = (last.millis() + 60_000) + "-0";
        assertConflict(post("reset", "{\"to_id\": \"" + beyond + "\", \"dry_run\": true}"), "reset-beyond-stream");
        assertThat(JsonPath.parse(
                                post("reset", "{\"to_id\": \"" + beyond + "\", \"dry_run\": true, \"allow_gap\": true}")
                                        .body())
                        .read("$.skips", Long.class))
                .isZero();

        // Trimmed below the second entry: a target before it would leave a gap.
        redis.xtrim(stream.name(), io.lettuce.core.XTrimArgs.Builder.minId(ids.get(1)));
        assertConflict(post("reset", "{\"to_id\": \"0-0\", \"dry_run\": true}"), "reset-gap");
        var justBefore = JsonPath.parse(post("reset", "{\"to_id\": \"" + before(ids.get(1)) + "\", \"dry_run\": true}")
                .body());
        assertThat(justBefore.read("$.replays", Long.class)).isEqualTo(2);
        var anyway = JsonPath.parse(post("reset", "{\"to_id\": \"0-0\", \"dry_run\": true, \"allow_gap\": true}")
                .body());
        assertThat(anyway.read("$.replays", Long.class)).isEqualTo(redis.xlen(stream.name()));
        assertThat(groupLastDelivered()).isEqualTo(ids.getLast());
    }

    @Test
    void forgetsIdleConsumersWithNothingPendingAndKeepsThoseWithPendingEntries() {
        awaitProjected();
        String gone = "gone-" + prefix;
        String holding = "holding-" + prefix;
        assertThat(redis.xgroupCreateconsumer(stream.name(), Consumer.from(group(), gone)))
                .isTrue();
        post("pause", "{\"scope\": \"group\"}");
        publish(List.of(written(prefix + "held", 1, 1)));
        assertThat(redis.xreadgroup(
                        Consumer.from(group(), holding),
                        XReadArgs.Builder.count(1),
                        XReadArgs.StreamOffset.lastConsumed(stream.name())))
                .hasSize(1);
        Duration idle = consumer.livenessWindow();
        await().atMost(PATIENCE)
                .until(() -> idleMs(gone).orElseThrow() > idle.toMillis()
                        && idleMs(holding).orElseThrow() > idle.toMillis()
                        && idleMs("projector-under-test").orElseThrow() > idle.toMillis());

        var answer = post("forget-dead", "{\"idle\": \"" + idle + "\"}");
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        List<String> removed = JsonPath.parse(answer.body()).read("$.removed");
        assertThat(removed).contains(gone).doesNotContain(holding, "projector-under-test");
        assertThat(listedConsumers()).doesNotContain(gone).contains(holding, "projector-under-test");
        assertThat(auditEntries(1).getFirst()).containsEntry("operation", "projector.forget-dead");

        assertInvalid(post("forget-dead", "{\"idle\": \"PT0.001S\"}"), "idle");
        assertInvalid(post("forget-dead", "{\"idle\": \"ten minutes\"}"), "idle");
        assertInvalid(post("forget-dead", "{}"), "idle");

        post("resume", "{\"scope\": \"group\"}");
        awaitProjected();
        assertThat(rows(prefix)).hasSize(1);
        redis.xgroupDelconsumer(stream.name(), Consumer.from(group(), holding));
    }

    @Test
    void onlyAdminKeysMayCallIt() {
        var http = new LocalHttp(managementPort);
        assertThat(http.anonymous().get(PROJECTOR).statusCode()).isEqualTo(401);
        assertThat(http.anonymous()
                        .postJson(PROJECTOR + "/pause", "{\"scope\": \"group\"}")
                        .statusCode())
                .isEqualTo(401);
        assertThat(http.as(TestApiKeys.READER).get(PROJECTOR).statusCode()).isEqualTo(403);
        assertThat(http.as(TestApiKeys.WRITER)
                        .postJson(PROJECTOR + "/pause", "{\"scope\": \"group\"}")
                        .statusCode())
                .isEqualTo(403);
        assertThat(http.as(TestApiKeys.READER).get(PROJECTOR + "/audit").statusCode())
                .isEqualTo(403);

        assertThat(consumer.status().paused()).isFalse();
        assertThat(consumer.groupPaused()).isFalse();
    }

    @Test
    void auditsEveryMutatingCallWithTheKeyThatMadeIt() {
        post("pause", "{\"scope\": \"instance\"}");
        post("resume", "{}");

        var entries = auditEntries(2);
        assertThat(entries).extracting(e -> e.get("operation")).containsExactly("projector.resume", "projector.pause");
        assertThat(entries).allSatisfy(e -> {
            assertThat(e).containsEntry("key_name", "test-admin").containsEntry("outcome", "succeeded");
            assertThat((String) e.get("parameters")).contains("\"scope\": \"instance\"");
        });
        assertInvalid(admin.get(PROJECTOR + "/audit?limit=0"), "limit");
        assertInvalid(admin.get(PROJECTOR + "/audit?limit=501"), "limit");
        assertInvalid(admin.get(PROJECTOR + "/audit?limit=many"), "limit");
        assertThat(auditEntries(500)).hasSizeLessThanOrEqualTo(500);
    }

    @Test
    void answersInvalidBodiesWithAProblemAndChangesNothing() {
        long audited = auditEntries(500).size();

        assertInvalid(post("pause", "{\"scope\": \"everyone\"}"), "scope");
        assertInvalid(post("resume", "{\"scope\": \"\"}"), "scope");
        assertInvalid(post("pause", "{\"to_id\": \"0-0\"}"), "to_id");
        assertInvalid(post("reset", "{}"), "to_id");
        assertInvalid(post("reset", "{\"to_id\": \"0-0\", \"to_time\": \"2026-11-28T20:50:00Z\"}"), "to_time");
        assertInvalid(post("reset", "{\"to_id\": \"latest\"}"), "to_id");
        assertInvalid(post("reset", "{\"to_id\": \"99999999999999999999-0\"}"), "to_id");
        assertInvalid(post("reset", "{\"to_time\": \"yesterday\"}"), "to_time");
        assertInvalid(post("reset", "{\"to_id\": \"0-0\", \"dry_run\": \"maybe\"}"), "dry_run");
        assertInvalid(post("reset", "{\"to_id\": \"0-0\", \"allow_gap\": 1}"), "allow_gap");
        assertInvalid(post("forget-dead", "{\"scope\": \"group\"}"), "scope");
        var unknown = post("explode", "{}");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.headers().firstValue("Content-Type")).hasValue("application/problem+json");

        assertThat(auditEntries(500)).hasSize((int) audited);
        assertThat(consumer.status().paused()).isFalse();
    }

    /** The greatest id below {@code id}: a reset there replays {@code id} on. */
    private static String before(String id) {
        var parsed = StreamEntryId.parse(id);
        return parsed.sequence() > 0
                ? parsed.millis() + "-" + (parsed.sequence() - 1)
                : (parsed.millis() - 1) + "-" + Long.MAX_VALUE;
    }

    // --- helpers ------------------------------------------------------------------------------------------------

    private HttpResponse<String> post(String action, String body) {
        return admin.postJson(PROJECTOR + "/" + action, body);
    }

    private DocumentContext status() {
        var answer = admin.get(PROJECTOR);
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        return JsonPath.parse(answer.body());
    }

    private static Map<String, Object> consumerIn(DocumentContext status, String name) {
        List<Map<String, Object>> found = status.read("$.consumers[?(@.name == '" + name + "')]");
        assertThat(found).as("consumer %s in %s", name, status.jsonString()).hasSize(1);
        return found.getFirst();
    }

    private List<Map<String, Object>> auditEntries(int limit) {
        var answer = admin.get(PROJECTOR + "/audit?limit=" + limit);
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        return JsonPath.parse(answer.body()).read("$.entries");
    }

    private String groupLastDelivered() {
        return status().read("$.group_info.last_delivered_id", String.class);
    }

    private double pausedGauge() {
        var gauge = meters.find("cqrs.projector.paused").gauge();
        assertThat(gauge).isNotNull();
        return gauge.value();
    }

    private List<String> listedConsumers() {
        return redis.xinfoConsumers(stream.name(), group()).stream()
                .map(info -> String.valueOf(fields(info).get("name")))
                .toList();
    }

    private Optional<Long> idleMs(String name) {
        for (Object info : redis.xinfoConsumers(stream.name(), group())) {
            var fields = fields(info);
            if (name.equals(String.valueOf(fields.get("name")))) {
                return Optional.of(((Number) fields.get("idle")).longValue());
            }
        }
        return Optional.empty();
    }

    private static Map<String, @Nullable Object> fields(Object info) {
        List<?> flat = (List<?>) info;
        var fields = new java.util.HashMap<String, @Nullable Object>();
        for (int i = 0; i + 1 < flat.size(); i += 2) {
            fields.put(String.valueOf(flat.get(i)), flat.get(i + 1));
        }
        return fields;
    }

    /**
     * Waits until the consumer has not tried to read or claim for {@code quiet} more than it had when asked (its idle
     * time in {@code XINFO CONSUMERS}): a running consumer reads at least every poll interval, so it proves the
     * consumer stands still.
     */
    private void awaitNoReadsFor(String name, Duration quiet) {
        long from = idleMs(name).orElseThrow();
        await().atMost(PATIENCE).until(() -> idleMs(name).orElseThrow() >= from + quiet.toMillis());
    }

    private StreamConsumer secondConsumer(String name) {
        var first = properties.projector();
        var settings = first.withConsumer(name);
        return new StreamConsumer(
                new ProjectorProperties(properties.events(), settings),
                sharedRedis,
                redisConnections,
                batches,
                metrics,
                Clock.systemUTC());
    }

    private static void assertInvalid(HttpResponse<String> answer, String field) {
        assertProblem(answer, 400);
        assertThat(JsonPath.parse(answer.body()).read("$.field", String.class)).isEqualTo(field);
    }

    private static void assertConflict(HttpResponse<String> answer, String type) {
        assertProblem(answer, 409);
        assertThat(JsonPath.parse(answer.body()).read("$.type", String.class)).isEqualTo("urn:cqrs:problem:" + type);
    }

    private static void assertProblem(HttpResponse<String> answer, int status) {
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(status);
        assertThat(answer.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        Map<String, Object> body = JsonPath.parse(answer.body()).read("$");
        assertThat(body)
                .containsKeys("type", "title", "detail")
                .containsEntry("status", status)
                .containsEntry("success", false);
        assertThat((String) body.get("detail")).isNotBlank();
    }
}
