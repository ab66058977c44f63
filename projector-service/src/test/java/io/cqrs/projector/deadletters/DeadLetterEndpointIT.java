package io.cqrs.projector.deadletters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.events.EventCodec;
import io.cqrs.testsupport.TestApiKeys;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XReadArgs;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code /actuator/deadletters} as an operator meets it: over HTTP on the management port, with the admin key. */
class DeadLetterEndpointIT extends DeadLetterTestSupport {

    @Nested
    class Listing {

        @Test
        void listsDeadLettersOldestFirstInPagesWithoutTheirValues() {
            var ids = new ArrayList<String>();
            for (int i = 0; i < 5; i++) {
                ids.add(deadLetter(written(prefix + i, 1, 1), "UNKNOWN_SCHEMA"));
            }

            var first = json(admin().get("/actuator/deadletters?limit=2"));
            assertThat(first.read("$.stream", String.class)).isEqualTo(dlq());
            assertThat(first.read("$.total", Long.class)).isEqualTo(5);
            assertThat(first.read("$.oldest_age_seconds", Double.class)).isGreaterThanOrEqualTo(0.0);
            assertThat(first.read("$.entries[*].id", List.class)).isEqualTo(ids.subList(0, 2));
            assertThat(first.read("$.next", String.class)).isEqualTo(ids.get(1));
            Map<String, Object> entry = first.read("$.entries[0]");
            assertThat(entry)
                    .containsEntry("id", ids.getFirst())
                    .containsEntry("problem", "UNKNOWN_SCHEMA")
                    .containsEntry("reason", "dead-lettered by the test as UNKNOWN_SCHEMA")
                    .containsEntry("deliveries", 1)
                    .containsEntry("type", EventCodec.TYPE_WRITTEN)
                    .containsEntry("key", prefix + 0)
                    .containsKeys("original_id", "dead_lettered_at")
                    .doesNotContainKeys("value", "fields");

            var second = json(admin().get("/actuator/deadletters?limit=2&after=" + ids.get(1)));
            assertThat(second.read("$.entries[*].id", List.class)).isEqualTo(ids.subList(2, 4));
            var last = json(admin().get("/actuator/deadletters?limit=2&after=" + second.read("$.next", String.class)));
            assertThat(last.read("$.entries[*].id", List.class)).isEqualTo(ids.subList(4, 5));
            assertThat(last.read("$.next", Object.class)).isNull();
        }

        @Test
        void filtersByReasonAndShowsTheEventFieldsOnlyWhenAsked() {
            deadLetter(written(prefix + "a", 1, 1), "UNKNOWN_SCHEMA");
            String failed = deadLetter(written(prefix + "b", 1, 1), "APPLY_FAILED");
            deadLetter(written(prefix + "c", 1, 1), "UNKNOWN_SCHEMA");

            var filtered = json(admin().get("/actuator/deadletters?reason=APPLY_FAILED"));
            assertThat(filtered.read("$.entries[*].id", List.class)).containsExactly(failed);
            assertThat(filtered.read("$.total", Long.class)).isEqualTo(3);

            var withFields = json(admin().get("/actuator/deadletters?reason=APPLY_FAILED&with_fields=true"));
            Map<String, String> fields = withFields.read("$.entries[0].fields");
            assertThat(fields)
                    .containsEntry("key", prefix + "b")
                    .containsEntry("value", prefix + "b v1")
                    .containsEntry("schema", "1")
                    .allSatisfy((name, value) -> assertThat(name).doesNotStartWith("dlq_"));
        }

        @Test
        void readsABoundedNumberOfEntriesPerCallAndPagesOnWhenAFilterMatchesLittle() {
            var ids = new ArrayList<String>();
            for (int i = 0; i < DeadLetterStream.LIST_SCAN_LIMIT + 100; i++) {
                ids.add(deadLetter(written(prefix + i, 1, 1), "APPLY_FAILED"));
            }
            String rare = deadLetter(written(prefix + "rare", 1, 1), "UNKNOWN_TYPE");

            var first = json(admin().get("/actuator/deadletters?reason=UNKNOWN_TYPE"));
            assertThat(first.read("$.entries", List.class)).isEmpty();
            assertThat(first.read("$.next", String.class)).isEqualTo(ids.get(DeadLetterStream.LIST_SCAN_LIMIT - 1));

            var second = json(admin().get("/actuator/deadletters?reason=UNKNOWN_TYPE&after=" + first.read("$.next")));
            assertThat(second.read("$.entries[*].id", List.class)).containsExactly(rare);
            assertThat(second.read("$.next", Object.class)).isNull();
        }

        @Test
        void countsDeadLettersByReason() {
            deadLetter(written(prefix + "a", 1, 1), "UNKNOWN_SCHEMA");
            deadLetter(written(prefix + "b", 1, 1), "APPLY_FAILED");
            deadLetter(written(prefix + "c", 1, 1), "UNKNOWN_SCHEMA");

            var reasons = json(admin().get("/actuator/deadletters/reasons"));

            assertThat(reasons.read("$.total", Long.class)).isEqualTo(3);
            assertThat(reasons.read("$.reasons", Map.class)).isEqualTo(Map.of("APPLY_FAILED", 1, "UNKNOWN_SCHEMA", 2));
            assertThat(reasons.read("$.exact", Boolean.class)).isTrue();
            assertThat(reasons.read("$.counted", Long.class)).isEqualTo(3);
        }

        @Test
        void showsWhatTheProjectorDeadLetteredAndWhy() {
            var schemaTwo = new LinkedHashMap<>(EventCodec.encode(written(prefix + "new", 1, 1)));
            schemaTwo.put("schema", "2");
            var renamed = new LinkedHashMap<>(EventCodec.encode(written(prefix + "renamed", 1, 1)));
            renamed.put("type", "record.renamed");
            var ids = publish(List.of(schemaTwo, renamed));

            await().atMost(PATIENCE).until(() -> redis.xlen(dlq()) == 2);
            var listing = json(admin().get("/actuator/deadletters"));

            assertThat(listing.read("$.entries[*].original_id", List.class)).containsExactlyElementsOf(ids);
            assertThat(listing.read("$.entries[*].problem", List.class))
                    .containsExactly("UNKNOWN_SCHEMA", "UNKNOWN_TYPE");
            assertThat(listing.read("$.entries[0].reason", String.class)).contains("unknown schema 2");
            assertThat(listing.read("$.entries[*].key", List.class))
                    .containsExactly(prefix + "new", prefix + "renamed");
        }
    }

    @Nested
    class Redrive {

        @Test
        void movesOneEntryBackAndItIsProjected() {
            var event = written(prefix + "one", 3, 2);
            String id = deadLetter(event, "APPLY_FAILED");
            long before = auditCount();
            // A group that reads nothing holds the janitor back, so that the redriven entry stays to be looked at.
            redis.xgroupCreate(XReadArgs.StreamOffset.latest(stream.name()), "observer");

            HttpResponse<String> answer;
            List<StreamMessage<String, String>> redriven;
            try {
                answer = admin().postJson("/actuator/deadletters/redrive", "{\"id\": \"" + id + "\"}");
                String newId = json(answer).read("$.first_ids[0]", String.class);
                redriven = redis.xrange(stream.name(), Range.create(newId, newId));
            } finally {
                redis.xgroupDestroy(stream.name(), "observer");
            }

            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            assertThat(json(answer).read("$.redriven", Long.class)).isEqualTo(1);
            assertThat(json(answer).read("$.first_ids", List.class))
                    .as(answer.body())
                    .hasSize(1);
            await().atMost(PATIENCE)
                    .untilAsserted(() -> assertThat(row(prefix + "one")).hasValueSatisfying(row -> {
                        assertThat(row.value()).isEqualTo(prefix + "one v3");
                        assertThat(row.version()).isEqualTo(3);
                        assertThat(row.writeCount()).isEqualTo(2);
                    }));
            assertThat(deadLetterIds()).isEmpty();
            // The event went back without the dead-letter fields: exactly what the producer wrote.
            assertThat(redriven)
                    .singleElement()
                    .satisfies(entry -> assertThat(entry.getBody()).isEqualTo(EventCodec.encode(event)));
            assertThat(auditCount()).isEqualTo(before + 1);
            var audited = lastAudit();
            assertThat(audited.operation()).isEqualTo("deadletters.redrive");
            assertThat(audited.keyName()).isEqualTo("test-admin");
            assertThat(audited.parameters()).isEqualTo("{\"id\": \"" + id + "\"}");
            assertThat(audited.outcome()).isEqualTo("succeeded");
            assertThat(audited.result()).startsWith("redriven 1");
        }

        @Test
        void movesARangeBack() {
            var ids = new ArrayList<String>();
            for (int i = 0; i < 4; i++) {
                ids.add(deadLetter(written(prefix + i, 1, 1), "APPLY_FAILED"));
            }

            var answer = admin().postJson(
                            "/actuator/deadletters/redrive",
                            "{\"from\": \"" + ids.get(1) + "\", \"to\": \"" + ids.get(2) + "\"}");

            assertThat(json(answer).read("$.redriven", Long.class)).isEqualTo(2);
            await().atMost(PATIENCE).untilAsserted(() -> {
                assertThat(row(prefix + 1)).isPresent();
                assertThat(row(prefix + 2)).isPresent();
            });
            awaitProjected();
            assertThat(row(prefix + 0)).isEmpty();
            assertThat(row(prefix + 3)).isEmpty();
            assertThat(deadLetterIds()).containsExactly(ids.get(0), ids.get(3));
            assertThat(lastAudit().parameters()).contains("\"from\"", "\"to\"");
        }

        @Test
        void movesBackTheEntriesOfOneReasonAndCountsExactly() {
            deadLetter(written(prefix + "a", 1, 1), "UNKNOWN_SCHEMA");
            deadLetter(written(prefix + "b", 2, 2), "UNKNOWN_SCHEMA");
            String other = deadLetter(written(prefix + "c", 1, 1), "APPLY_FAILED");
            var before = state();

            var answer = admin().postJson("/actuator/deadletters/redrive", "{\"reason\": \"UNKNOWN_SCHEMA\"}");

            assertThat(json(answer).read("$.redriven", Long.class)).isEqualTo(2);
            await().atMost(PATIENCE).until(() -> state().applied() == before.applied() + 2);
            awaitProjected();
            assertThat(state().records()).isEqualTo(before.records() + 2);
            assertThat(state().totalWrites()).isEqualTo(before.totalWrites() + 3);
            assertThat(row(prefix + "c")).isEmpty();
            assertThat(deadLetterIds()).containsExactly(other);
            assertCountersMatchRows();
        }

        @Test
        void movesEverythingBackAndTheReadModelHoldsTheNewestVersions() {
            deadLetter(written(prefix + "k", 1, 1), "APPLY_FAILED");
            deadLetter(written(prefix + "k", 2, 2), "UNKNOWN_SCHEMA");
            deadLetter(deleted(prefix + "gone", 2, 1), "UNKNOWN_SCHEMA");
            deadLetter(written(prefix + "gone", 1, 1), "UNKNOWN_SCHEMA");

            var answer = admin().postJson("/actuator/deadletters/redrive", "{\"all\": true}");

            assertThat(json(answer).read("$.redriven", Long.class)).isEqualTo(4);
            assertThat(json(answer).read("$.first_ids", List.class)).hasSize(4);
            await().atMost(PATIENCE).untilAsserted(() -> {
                assertThat(row(prefix + "k"))
                        .hasValueSatisfying(row -> assertThat(row.version()).isEqualTo(2));
                assertThat(row(prefix + "gone"))
                        .hasValueSatisfying(row -> assertThat(row.deleted()).isTrue());
            });
            awaitProjected();
            assertThat(row(prefix + "k").orElseThrow().writeCount()).isEqualTo(2);
            assertThat(row(prefix + "gone").orElseThrow().version()).isEqualTo(2);
            assertThat(redis.xlen(dlq())).isZero();
            assertCountersMatchRows();
        }

        @Test
        void redrivingTwiceIsHarmless() {
            var event = written(prefix + "twice", 1, 1);
            // The same event dead-lettered twice: as if a redrive had added it twice.
            deadLetter(event, "APPLY_FAILED");
            deadLetter(event, "APPLY_FAILED");
            var before = state();

            var first = admin().postJson("/actuator/deadletters/redrive", "{\"all\": true}");
            assertThat(json(first).read("$.redriven", Long.class)).isEqualTo(2);
            await().atMost(PATIENCE)
                    .until(() -> state().applied() + state().stale() == before.applied() + before.stale() + 2);
            var second = admin().postJson("/actuator/deadletters/redrive", "{\"all\": true}");
            assertThat(json(second).read("$.redriven", Long.class)).isZero();
            awaitProjected();

            var after = state();
            assertThat(after.applied()).isEqualTo(before.applied() + 1);
            assertThat(after.stale()).isEqualTo(before.stale() + 1);
            assertThat(row(prefix + "twice").orElseThrow().writeCount()).isEqualTo(1);
            assertCountersMatchRows();
        }

        @Test
        void anEntryThatStillCannotBeReadIsDeadLetteredAgainAndTheRedriveEnds() {
            var schemaTwo = new LinkedHashMap<>(EventCodec.encode(written(prefix + "future", 1, 1)));
            schemaTwo.put("schema", "2");
            publish(List.of(schemaTwo));
            await().atMost(PATIENCE).until(() -> redis.xlen(dlq()) == 1);
            String firstDeadLetter = deadLetterIds().getFirst();

            var answer = admin().postJson("/actuator/deadletters/redrive", "{\"all\": true}");

            assertThat(json(answer).read("$.redriven", Long.class)).isEqualTo(1);
            String newId = json(answer).read("$.first_ids[0]", String.class);
            await().atMost(PATIENCE)
                    .until(() -> redis.xlen(dlq()) == 1 && !deadLetterIds().contains(firstDeadLetter));
            var listing = json(admin().get("/actuator/deadletters"));
            assertThat(listing.read("$.entries[0].original_id", String.class)).isEqualTo(newId);
            assertThat(listing.read("$.entries[0].deliveries", Long.class)).isEqualTo(1);
            assertThat(listing.read("$.entries[0].problem", String.class)).isEqualTo("UNKNOWN_SCHEMA");
            assertThat(row(prefix + "future")).isEmpty();
        }

        @Test
        void anUnknownIdRedrivesNothing() {
            deadLetter(written(prefix + "kept", 1, 1), "APPLY_FAILED");

            var answer = admin().postJson("/actuator/deadletters/redrive", "{\"id\": \"1-1\"}");

            assertThat(answer.statusCode()).isEqualTo(200);
            assertThat(json(answer).read("$.redriven", Long.class)).isZero();
            assertThat(redis.xlen(dlq())).isEqualTo(1);
        }
    }

    @Nested
    class Purge {

        @Test
        void deletesOneEntry() {
            String gone = deadLetter(written(prefix + "a", 1, 1), "APPLY_FAILED");
            String kept = deadLetter(written(prefix + "b", 1, 1), "APPLY_FAILED");

            var answer = admin().postJson("/actuator/deadletters/purge", "{\"id\": \"" + gone + "\"}");

            assertThat(json(answer).read("$.purged", Long.class)).isEqualTo(1);
            assertThat(deadLetterIds()).containsExactly(kept);
            assertThat(lastAudit().operation()).isEqualTo("deadletters.purge");
            assertThat(lastAudit().result()).isEqualTo("1");
        }

        @Test
        void deletesARange() {
            var ids = new ArrayList<String>();
            for (int i = 0; i < 250; i++) {
                ids.add(deadLetter(written(prefix + i, 1, 1), "APPLY_FAILED"));
            }

            var answer = admin().postJson(
                            "/actuator/deadletters/purge",
                            "{\"from\": \"" + ids.get(10) + "\", \"to\": \"" + ids.get(239) + "\"}");

            assertThat(json(answer).read("$.purged", Long.class)).isEqualTo(230);
            var left = new ArrayList<>(ids.subList(0, 10));
            left.addAll(ids.subList(240, 250));
            assertThat(deadLetterIds()).isEqualTo(left);
            assertThat(row(prefix + 10)).isEmpty();
        }

        @Test
        void deletesTheEntriesOfOneReason() {
            deadLetter(written(prefix + "a", 1, 1), "UNKNOWN_TYPE");
            String kept = deadLetter(written(prefix + "b", 1, 1), "APPLY_FAILED");

            var answer = admin().postJson("/actuator/deadletters/purge", "{\"reason\": \"UNKNOWN_TYPE\"}");

            assertThat(json(answer).read("$.purged", Long.class)).isEqualTo(1);
            assertThat(deadLetterIds()).containsExactly(kept);
        }

        @Test
        void deletesEntriesOlderThanADuration() {
            long now = System.currentTimeMillis();
            var old = new ArrayList<String>();
            for (int i = 0; i < 150; i++) {
                old.add(deadLetter(
                        EventCodec.encode(written(prefix + "old" + i, 1, 1)),
                        "APPLY_FAILED",
                        (now - 7_200_000) + "-" + i));
            }
            String recent = deadLetter(written(prefix + "new", 1, 1), "APPLY_FAILED");

            var answer = admin().postJson("/actuator/deadletters/purge", "{\"older_than\": \"PT1H\"}");

            assertThat(json(answer).read("$.purged", Long.class)).isEqualTo(150);
            assertThat(deadLetterIds()).containsExactly(recent);
        }

        @Test
        void deletesEverything() {
            for (int i = 0; i < 120; i++) {
                deadLetter(written(prefix + i, 1, 1), "APPLY_FAILED");
            }

            var answer = admin().postJson("/actuator/deadletters/purge", "{\"all\": true}");

            assertThat(json(answer).read("$.purged", Long.class)).isEqualTo(120);
            assertThat(redis.xlen(dlq())).isZero();
            assertThat(lastAudit().parameters()).isEqualTo("{\"all\": \"true\"}");
        }
    }

    @Nested
    class Refusals {

        @Test
        void everyCallNeedsAnAdminKeyAndARefusedOneChangesNothing() {
            deadLetter(written(prefix + "a", 1, 1), "APPLY_FAILED");
            long audited = auditCount();

            for (var answer : List.of(
                    as(TestApiKeys.ADMIN).anonymous().get("/actuator/deadletters"),
                    as(TestApiKeys.ADMIN).anonymous().get("/actuator/deadletters/reasons"),
                    as(TestApiKeys.ADMIN).anonymous().postJson("/actuator/deadletters/purge", "{\"all\": true}"))) {
                assertThat(answer.statusCode()).as(answer.body()).isEqualTo(401);
            }
            for (String key : List.of(TestApiKeys.READER, TestApiKeys.WRITER)) {
                for (var answer : List.of(
                        as(key).get("/actuator/deadletters"),
                        as(key).postJson("/actuator/deadletters/redrive", "{\"all\": true}"),
                        as(key).postJson("/actuator/deadletters/purge", "{\"all\": true}"))) {
                    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(403);
                    assertProblem(answer);
                }
            }

            assertThat(redis.xlen(dlq())).isEqualTo(1);
            assertThat(auditCount()).isEqualTo(audited);
        }

        @ParameterizedTest
        @CsvSource(
                delimiter = '|',
                value = {
                    "redrive | {}                                     | body",
                    "redrive | ''                                     | body",
                    "redrive | {\"id\": \"abc\"}                      | id",
                    "redrive | {\"id\": \"1-1\", \"all\": true}       | body",
                    "redrive | {\"reason\": \"A\", \"from\": \"1\", \"to\": \"2\"} | body",
                    "redrive | {\"from\": \"5\"}                      | to",
                    "redrive | {\"from\": \"9-0\", \"to\": \"1-0\"}   | range",
                    "redrive | {\"from\": \"x\", \"to\": \"1-0\"}     | from",
                    "redrive | {\"reason\": \"no spaces please\"}     | reason",
                    "redrive | {\"all\": false}                       | all",
                    "redrive | {\"older_than\": \"PT1H\"}             | older_than",
                    "purge   | {\"older_than\": \"yesterday\"}        | older_than",
                    "purge   | {\"older_than\": \"-PT1H\"}            | older_than",
                    "purge   | {\"id\": \"99999999999999999999-0\"}   | id"
                })
        void refusesABadSelectionWithAProblemAndChangesNothing(String action, String body, String field) {
            deadLetter(written(prefix + "a", 1, 1), "APPLY_FAILED");
            long audited = auditCount();

            var answer = admin().postJson("/actuator/deadletters/" + action, body);

            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(400);
            assertProblem(answer);
            assertThat(json(answer).read("$.field", String.class)).isEqualTo(field);
            assertThat(redis.xlen(dlq())).isEqualTo(1);
            assertThat(auditCount()).isEqualTo(audited);
        }

        @ParameterizedTest
        @ValueSource(
                strings = {
                    "?limit=0|limit",
                    "?limit=1001|limit",
                    "?limit=ten|limit",
                    "?after=yesterday|after",
                    "?reason=a%20b|reason",
                    "?with_fields=maybe|with_fields"
                })
        void refusesBadListingParametersWithAProblem(String query) {
            String[] parts = query.split("\\|");

            var answer = admin().get("/actuator/deadletters" + parts[0]);

            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(400);
            assertProblem(answer);
            assertThat(json(answer).read("$.field", String.class)).isEqualTo(parts[1]);
        }

        @ParameterizedTest
        @ValueSource(strings = {"not json", "{\"id\": {\"nested\": 1}}", "[1, 2]"})
        void refusesABodyThatIsNotAnObjectOfTextWithAProblem(String body) {
            deadLetter(written(prefix + "a", 1, 1), "APPLY_FAILED");
            long audited = auditCount();

            var answer = admin().postJson("/actuator/deadletters/purge", body);

            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(400);
            assertProblem(answer);
            assertThat(json(answer).read("$.field", String.class)).isEqualTo("body");
            assertThat(redis.xlen(dlq())).isEqualTo(1);
            assertThat(auditCount()).isEqualTo(audited);
        }

        @Test
        void doesNothingWhenTheAuditLogCannotBeWrittenAndSaysWhenToTryAgain() {
            deadLetter(written(prefix + "a", 1, 1), "APPLY_FAILED");
            HttpResponse<String> answer;
            jdbc.sql("alter table operator_audit rename to operator_audit_away").update();
            try {
                answer = admin().postJson("/actuator/deadletters/purge", "{\"all\": true}");
            } finally {
                jdbc.sql("alter table operator_audit_away rename to operator_audit")
                        .update();
            }

            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(503);
            assertThat(answer.headers().firstValue("Retry-After")).hasValue("5");
            assertProblem(answer);
            assertThat(json(answer).read("$.dependency", String.class)).isEqualTo("read_db");
            assertThat(redis.xlen(dlq())).isEqualTo(1);
        }

        @Test
        void answersAnUnknownOperationWithA404Problem() {
            var answer = admin().postJson("/actuator/deadletters/resurrect", "{\"all\": true}");

            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(404);
            assertProblem(answer);
        }
    }

    static void assertProblem(HttpResponse<String> answer) {
        assertThat(answer.headers().firstValue("Content-Type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("application/problem+json"));
        Map<String, Object> body = json(answer).read("$");
        assertThat(body).containsKeys("type", "title", "status", "detail").containsEntry("status", answer.statusCode());
        assertThat(answer.body()).doesNotContain("Exception", "\tat ");
    }
}
