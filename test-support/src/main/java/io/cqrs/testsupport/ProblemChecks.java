package io.cqrs.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.JsonPath;
import java.util.Map;

/** The checks every service's tests make of an error answered by the servlet container rather than by the API. */
public final class ProblemChecks {

    private ProblemChecks() {}

    /**
     * An {@code application/problem+json} body with {@code type}, {@code title}, {@code status} (the response's),
     * {@code detail} and {@code "success": false}, and nothing that gives the server away: no server header, version,
     * HTML or stack trace.
     */
    public static void assertProblem(RawHttp.Response response, int status) {
        assertThat(response.status()).as(response.body()).isEqualTo(status);
        assertThat(response.header("Content-Type")).as(response.body()).hasValue("application/problem+json");
        assertThat(response.header("Server")).isEmpty();
        Map<String, Object> body = JsonPath.parse(response.body()).read("$");
        assertThat(body)
                .containsKeys("type", "title", "detail")
                .containsEntry("status", status)
                .containsEntry("success", false);
        assertThat((String) body.get("detail")).isNotBlank();
        assertThat(response.body()).doesNotContain("Tomcat", "Exception", "\tat ", "<html");
    }
}
