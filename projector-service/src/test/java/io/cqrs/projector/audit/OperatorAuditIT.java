package io.cqrs.projector.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cqrs.testsupport.RealServers;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.jdbc.test.autoconfigure.AutoConfigureTestDatabase;
import org.springframework.boot.jdbc.test.autoconfigure.JdbcTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.security.authentication.TestingAuthenticationToken;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;
import tools.jackson.databind.json.JsonMapper;

/** Audited operator calls against the real read schema: a row before, its outcome after, nothing unaudited. */
@JdbcTest
@AutoConfigureTestDatabase(replace = AutoConfigureTestDatabase.Replace.NONE)
@Transactional(propagation = Propagation.NOT_SUPPORTED)
@Import({RealServers.class, OperatorAudit.class, OperatorAuditIT.Wiring.class})
class OperatorAuditIT {

    @TestConfiguration(proxyBeanMethods = false)
    static class Wiring {
        @Bean
        JsonMapper json() {
            return JsonMapper.builder().build();
        }

        @Bean
        SimpleMeterRegistry meters() {
            return new SimpleMeterRegistry();
        }
    }

    @Autowired
    OperatorAudit audit;

    @Autowired
    JdbcClient jdbc;

    @Autowired
    MeterRegistry meters;

    @BeforeEach
    void signedInAsAnOperator() {
        SecurityContextHolder.getContext().setAuthentication(new TestingAuthenticationToken("ops-key", null));
    }

    @AfterEach
    void signOut() {
        SecurityContextHolder.clearContext();
    }

    @Test
    void recordsWhoAskedWhatAndTheResultOfAnOperationThatSucceeded() {
        String result = audit.run("deadletters.purge", Map.of("older_than", "PT24H"), () -> "purged 3");

        assertThat(result).isEqualTo("purged 3");
        var entry = audit.recent(1).getFirst();
        assertThat(entry.keyName()).isEqualTo("ops-key");
        assertThat(entry.operation()).isEqualTo("deadletters.purge");
        assertThat(entry.parameters()).isEqualTo("{\"older_than\": \"PT24H\"}");
        assertThat(entry.outcome()).isEqualTo("succeeded");
        assertThat(entry.result()).isEqualTo("purged 3");
        assertThat(entry.finishedAt()).isNotNull();
        assertThat(actions("deadletters.purge", "succeeded")).isEqualTo(1);
    }

    @Test
    void recordsAFailureAndLetsItReachTheCaller() {
        assertThatThrownBy(() -> audit.run("projector.reset", Map.of("to_id", "0-0"), () -> {
                    throw new IllegalStateException("no such group");
                }))
                .hasMessage("no such group");

        var entry = audit.recent(1).getFirst();
        assertThat(entry.outcome()).isEqualTo("failed");
        assertThat(entry.result()).contains("no such group");
        assertThat(actions("projector.reset", "failed")).isEqualTo(1);
    }

    @Test
    void runsNothingWhenTheAuditRowCannotBeWritten() {
        var ran = new AtomicBoolean();
        jdbc.sql("alter table operator_audit rename to operator_audit_away").update();
        try {
            assertThatThrownBy(() -> audit.run("projector.pause", Map.of(), () -> ran.getAndSet(true)));
        } finally {
            jdbc.sql("alter table operator_audit_away rename to operator_audit").update();
        }

        assertThat(ran).isFalse();
        assertThat(actions("projector.pause", "succeeded") + actions("projector.pause", "failed"))
                .isZero();
    }

    @Test
    void listsTheNewestFirst() {
        audit.run("first", Map.of(), () -> 1);
        audit.run("second", Map.of(), () -> 2);

        assertThat(audit.recent(2)).extracting(OperatorAudit.Entry::operation).containsExactly("second", "first");
    }

    private double actions(String operation, String outcome) {
        var counter = meters.find("cqrs.operator.actions")
                .tag("operation", operation)
                .tag("outcome", outcome)
                .counter();
        return counter == null ? 0 : counter.count();
    }
}
