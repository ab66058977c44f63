package io.cqrs.write.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.BDDMockito.given;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.webmvc.test.autoconfigure.AutoConfigureMockMvc;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.ComponentScan;
import org.springframework.context.annotation.FilterType;
import org.springframework.context.annotation.Import;
import org.springframework.http.MediaType;
import org.springframework.jdbc.BadSqlGrammarException;
import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.assertj.MockMvcTester;
import org.springframework.test.web.servlet.assertj.MvcTestResult;
import org.springframework.transaction.TransactionSystemException;

/**
 * The problem bodies clients see: the exceptions' own, Spring's in our shape, 503 for outages only, 500 otherwise.
 * Without the security filters (their answers are WriteApiKeysIT's subject): the requests carry a caller themselves.
 * Without the filters at all, so without the plain-write filter, whose answers are the controller's (WriteApiIT).
 */
@WebMvcTest(
        controllers = WriteController.class,
        excludeFilters = @ComponentScan.Filter(type = FilterType.ASSIGNABLE_TYPE, classes = PlainWriteFilter.class))
@AutoConfigureMockMvc(addFilters = false)
@Import({CommandRules.class, ApiErrorsTests.Wiring.class})
class ApiErrorsTests {

    @TestConfiguration(proxyBeanMethods = false)
    @EnableConfigurationProperties(WriteProperties.class)
    static class Wiring {
        @Bean
        MeterRegistry meters() {
            return new SimpleMeterRegistry();
        }
    }

    private static final java.security.Principal CALLER = () -> "test-client";

    @Autowired
    MockMvcTester mvc;

    @MockitoBean
    CommandService commands;

    @Test
    void anInvalidCommandIsA400ListingItsViolations() {
        var result = write("{\"key\": \"\", \"value\": 5}");

        assertProblem(result, 400, "invalid-command");
        assertThat(result)
                .bodyJson()
                .hasPathSatisfying(
                        "$.detail",
                        detail -> assertThat(detail)
                                .isEqualTo("Invalid command: key must be 1 to 255 characters long, was 0 (and 1 more);"
                                        + " nothing was written"))
                .hasPathSatisfying(
                        "$.violations[1].field", field -> assertThat(field).isEqualTo("value"))
                .hasPathSatisfying(
                        "$.violations[1].message",
                        message -> assertThat(message).isEqualTo("must be a JSON string"));
    }

    @Test
    void aMissingRecordIsA404() {
        given(commands.execute(any(), any(), any())).willThrow(new RecordNotFound("gone"));

        var result = mvc.delete().uri("/write/gone").principal(CALLER).exchange();

        assertProblem(result, 404, "record-not-found");
        assertDetail(result, "No record with key 'gone' to delete: it was never written or is already deleted");
    }

    @Test
    void aReusedIdempotencyKeyIsA422() {
        given(commands.execute(any(), any(), any())).willThrow(new IdempotencyKeyReused("retry-1"));

        var result = write("{\"key\": \"k\", \"value\": \"v\"}");

        assertProblem(result, 422, "idempotency-key-reused");
        assertDetail(result, "Idempotency-Key 'retry-1' was already used for a different request");
    }

    @Test
    void anUnavailableWriteStoreIsA503WithRetryAfter() {
        given(commands.execute(any(), any(), any()))
                .willThrow(new WriteStoreUnavailable("too many writes are waiting"));

        var result = write("{\"key\": \"k\", \"value\": \"v\"}");

        assertProblem(result, 503, "write-store-unavailable");
        assertThat(result).hasHeader("Retry-After", "1");
        assertDetail(
                result,
                "Cannot accept writes right now (too many writes are waiting); nothing was written," + " retry later");
    }

    @Test
    void aDatabaseThatCannotBeReachedIsA503WithRetryAfter() {
        given(commands.execute(any(), any(), any()))
                .willThrow(new CannotGetJdbcConnectionException("Connection refused", new SQLException("refused")));

        var result = write("{\"key\": \"k\", \"value\": \"v\"}");

        assertProblem(result, 503, "write-store-unavailable");
        assertThat(result).hasHeader("Retry-After", "1");
    }

    @Test
    void aCommitThatLostItsConnectionIsA503AndAnyOtherCommitFailureA500() {
        given(commands.execute(any(), any(), any()))
                .willThrow(new TransactionSystemException("Could not commit", new SQLException("I/O error", "08006")))
                .willThrow(new TransactionSystemException("Could not commit", new SQLException("odd", "XX000")));

        assertProblem(write("{\"key\": \"k\", \"value\": \"v\"}"), 503, "write-store-unavailable");
        assertProblem(write("{\"key\": \"k\", \"value\": \"v\"}"), 500, "internal-error");
    }

    @Test
    void anSqlErrorIsA500ThatTellsTheClientNothingOfIt() {
        given(commands.execute(any(), any(), any()))
                .willThrow(new BadSqlGrammarException("store", "insert into nope", new SQLException("no table nope")));

        var result = write("{\"key\": \"k\", \"value\": \"v\"}");

        assertProblem(result, 500, "internal-error");
        assertDetail(result, "An unexpected error occurred; it has been logged");
    }

    @Test
    void aMalformedBodyIsA400InOurShape() {
        var result = write("{\"key\": ");

        assertProblem(result, 400, "malformed-request");
    }

    @Test
    void springsOwnErrorsGetOurShape() {
        var result = mvc.post()
                .uri("/write")
                .contentType(MediaType.TEXT_PLAIN)
                .content("key=k")
                .exchange();

        assertThat(result).hasStatus(415);
        assertThat(result)
                .bodyJson()
                .hasPathSatisfying("$.success", success -> assertThat(success).isEqualTo(false));
    }

    private MvcTestResult write(String body) {
        return mvc.post()
                .uri("/write")
                .principal(CALLER)
                .contentType(MediaType.APPLICATION_JSON)
                .content(body)
                .exchange();
    }

    private static void assertProblem(MvcTestResult result, int status, String type) {
        assertThat(result).hasStatus(status).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(result)
                .bodyJson()
                .hasPathSatisfying("$.type", t -> assertThat(t).isEqualTo("urn:cqrs:problem:" + type))
                .hasPathSatisfying("$.status", s -> assertThat(s).isEqualTo(status))
                .hasPathSatisfying("$.success", s -> assertThat(s).isEqualTo(false));
    }

    private static void assertDetail(MvcTestResult result, String detail) {
        assertThat(result)
                .bodyJson()
                .hasPathSatisfying("$.detail", d -> assertThat(d).isEqualTo(detail));
    }
}
