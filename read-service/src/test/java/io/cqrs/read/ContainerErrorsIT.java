package io.cqrs.read;

import static io.cqrs.testsupport.ProblemChecks.assertProblem;

import io.cqrs.testsupport.RawHttp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * Requests Tomcat refuses before the API sees them, or answers outside its advice, get the API's problem body too
 * (common-web). Sent as raw bytes: java.net.http builds none of them.
 */
@ReadServiceTest
class ContainerErrorsIT {

    @LocalServerPort
    int port;

    RawHttp http;

    @BeforeEach
    void connect() {
        http = new RawHttp(port);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "invalid percent-encoding | GET /read/%zz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                      | 400",
                "encoded NUL              | GET /read/a%00b HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                    | 400",
                "invalid target character | GET /read/a{b} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                     | 400",
                "space in the target      | GET /read/a b HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                      | 400",
                "invalid method token     | G(T /read/x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                        | 400",
                "two Host headers         | GET /read/x HTTP/1.1\\r\\nHost: x\\r\\nHost: y\\r\\n\\r\\n             | 400",
                "unknown expectation      | GET /read/x HTTP/1.1\\r\\nHost: x\\r\\nExpect: 200-ok\\r\\n\\r\\n      | 417",
                "unsupported HTTP version | GET /read/x HTTP/9.9\\r\\nHost: x\\r\\n\\r\\n                        | 505",
                "TRACE                    | TRACE /read/x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                      | 405",
                "the error page itself    | GET /error HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer test-reader-secret\\r\\n\\r\\n | 404",
            })
    void answersWithAProblem(String name, String request, int status) {
        assertProblem(http.send(request.replace("\\r\\n", "\r\n")), status);
    }

    @Test
    void answersARequestLineOverTheSizeLimitWithAProblem() {
        assertProblem(http.send("GET /read/" + "x".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    }

    @Test
    void answersHeadersOverTheSizeLimitWithAProblem() {
        assertProblem(http.send("GET /read/x HTTP/1.1\r\nHost: x\r\nX-Long: " + "x".repeat(20_000) + "\r\n\r\n"), 400);
    }
}
