package io.cqrs.write;

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
@WriteServiceTest
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
                "invalid percent-encoding | DELETE /write/%zz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                  | 400",
                "encoded NUL              | DELETE /write/a%00b HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                | 400",
                "invalid target character | DELETE /write/a{b} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                 | 400",
                "no request line          | GARBAGE\\r\\n\\r\\n                                                    | 400",
                "no Host in HTTP/1.1      | POST /write HTTP/1.1\\r\\n\\r\\n                                       | 400",
                "broken chunked body      | POST /write HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer test-writer-secret\\r\\nContent-Type: application/json\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\n | 400",
                "unknown transfer coding  | POST /write HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: gzip\\r\\n\\r\\n | 501",
                "unsupported HTTP version | POST /write HTTP/9.9\\r\\nHost: x\\r\\n\\r\\n                           | 505",
                "TRACE                    | TRACE /write HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                         | 405",
            })
    void answersWithAProblem(String name, String request, int status) {
        assertProblem(http.send(request.replace("\\r\\n", "\r\n")), status);
    }

    @Test
    void answersARequestLineOverTheSizeLimitWithAProblem() {
        assertProblem(http.send("DELETE /write/" + "x".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    }

    @Test
    void answersHeadersOverTheSizeLimitWithAProblem() {
        assertProblem(
                http.send("DELETE /write/x HTTP/1.1\r\nHost: x\r\nX-Long: " + "x".repeat(20_000) + "\r\n\r\n"), 400);
    }
}
