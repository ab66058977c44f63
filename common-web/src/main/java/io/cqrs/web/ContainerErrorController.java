package io.cqrs.web;

import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.RequestMapping;
import tools.jackson.databind.ObjectWriter;

/**
 * The error page: where Tomcat forwards an error set outside Spring MVC's exception handling ({@code sendError} from a
 * filter or the servlet itself, such as the 405 for {@code TRACE}, a chunked body that breaks off, an exception thrown
 * by a filter). Replaces Boot's {@code BasicErrorController}, whose body is not a problem (spring-boot#48392). Written
 * straight to the response, so that no {@code Accept} header can turn it into something else.
 */
@Controller
@RequestMapping("${server.error.path:${error.path:/error}}")
class ContainerErrorController implements ErrorController {

    private final ObjectWriter json;

    ContainerErrorController(ObjectWriter json) {
        this.json = json;
    }

    @RequestMapping
    void error(HttpServletRequest request, HttpServletResponse response) throws IOException {
        // Asked for directly, /error is not a resource.
        int status = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE) instanceof Integer code
                ? code
                : HttpServletResponse.SC_NOT_FOUND;
        String instance = request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI) instanceof String uri
                ? uri
                : request.getRequestURI();
        byte[] body = ContainerProblem.of(status, instance).toJson(json);
        response.setStatus(status);
        response.setContentType(ContainerProblem.MEDIA_TYPE);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }
}
