package io.cqrs.web;

import static io.cqrs.testsupport.ProblemChecks.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.testsupport.RawHttp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.http.converter.autoconfigure.HttpMessageConvertersAutoConfiguration;
import org.springframework.boot.jackson.autoconfigure.JacksonAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.boot.tomcat.autoconfigure.servlet.TomcatServletWebServerAutoConfiguration;
import org.springframework.boot.webmvc.autoconfigure.DispatcherServletAutoConfiguration;
import org.springframework.boot.webmvc.autoconfigure.WebMvcAutoConfiguration;
import org.springframework.boot.webmvc.autoconfigure.error.ErrorMvcAutoConfiguration;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * Requests that Tomcat refuses before the application sees them, or answers outside Spring MVC's exception handling,
 * sent as raw bytes (java.net.http builds none of them), against Boot's web stack plus this module.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = ContainerErrorsTests.App.class)
class ContainerErrorsTests {

    @SpringBootConfiguration(proxyBeanMethods = false)
    @ImportAutoConfiguration({
        TomcatServletWebServerAutoConfiguration.class,
        DispatcherServletAutoConfiguration.class,
        WebMvcAutoConfiguration.class,
        ErrorMvcAutoConfiguration.class,
        JacksonAutoConfiguration.class,
        HttpMessageConvertersAutoConfiguration.class,
        HttpEdgeAutoConfiguration.class
    })
    @RestController
    static class App {

        @GetMapping("/things/{key}")
        String thing(@PathVariable String key) {
            return key;
        }

        @PostMapping("/things")
        String echo(@RequestBody String body) {
            return body;
        }
    }

    @LocalServerPort
    int port;

    RawHttp http;

    @BeforeEach
    void connect() {
        http = new RawHttp(port);
    }

    static final String LONG = "x".repeat(10_000);

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "invalid percent-encoding  | GET /things/%zz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                          | 400",
                "encoded NUL               | GET /things/a%00b HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                        | 400",
                "invalid target character  | GET /things/a{b} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                         | 400",
                "space in the target       | GET /things/a b HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                          | 400",
                "no request line           | GARBAGE\\r\\n\\r\\n                                                      | 400",
                "invalid method token      | G(T /things/x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                            | 400",
                "control character header  | GET /things/x HTTP/1.1\\r\\nHost: x\\r\\nX-A: a\\u0001b\\r\\n\\r\\n           | 400",
                "header without colon      | GET /things/x HTTP/1.1\\r\\nHost: x\\r\\nBroken header\\r\\n\\r\\n          | 400",
                "no Host in HTTP/1.1       | GET /things/x HTTP/1.1\\r\\n\\r\\n                                        | 400",
                "two Host headers          | GET /things/x HTTP/1.1\\r\\nHost: x\\r\\nHost: y\\r\\n\\r\\n                 | 400",
                "invalid Content-Length    | POST /things HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: ten\\r\\n\\r\\n      | 400",
                "broken chunked body       | POST /things HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: text/plain\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\n | 400",
                "unknown transfer coding   | POST /things HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: gzip\\r\\n\\r\\n  | 501",
                "unknown expectation       | GET /things/x HTTP/1.1\\r\\nHost: x\\r\\nExpect: 200-ok\\r\\n\\r\\n          | 417",
                "unsupported HTTP version  | GET /things/x HTTP/9.9\\r\\nHost: x\\r\\n\\r\\n                            | 505",
                "TRACE                     | TRACE /things/x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                          | 405",
                "unknown method            | FOO /things/x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                            | 405",
                "the error page itself     | GET /error HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                               | 404",
            })
    void answersWithAProblem(String name, String request, int status) {
        var response = http.send(request.replace("\\r\\n", "\r\n").replace("\\u0001", String.valueOf((char) 1)));

        assertProblem(response, status);
    }

    @Test
    void answersARequestLineOverTheHeaderSizeLimitWithAProblem() {
        assertProblem(http.send("GET /things/" + LONG + " HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    }

    @Test
    void answersHeadersOverTheSizeLimitWithAProblem() {
        assertProblem(http.send("GET /things/x HTTP/1.1\r\nHost: x\r\nX-Long: " + LONG + "\r\n\r\n"), 400);
    }

    @Test
    void keepsTheAllowHeaderOfA405() {
        var response = http.send("TRACE /things/x HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(response.header("Allow"))
                .hasValueSatisfying(allow -> assertThat(allow).contains("GET"));
    }

    @Test
    void answersTheProblemWhateverTheClientAccepts() {
        var response = http.send("TRACE /things/x HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n");

        assertProblem(response, 405);
    }

    @Test
    void passesEncodedSlashesAndBackslashesThroughToTheApplication() {
        var response = http.send("GET /things/a%2Fb%5Cc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("a/b\\c");
    }
}
