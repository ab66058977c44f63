package io.cqrs.bench.naive;

import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

@RestController
class WriteController {

    private final NaiveWrites writes;

    WriteController(NaiveWrites writes) {
        this.writes = writes;
    }

    @PostMapping("/write")
    WriteResponse write(@RequestBody WriteRequest body) {
        var written = writes.write(body.key(), body.value());
        return new WriteResponse(true, body.key(), written.commandId(), written.eventId());
    }

    record WriteRequest(String key, String value) {}

    record WriteResponse(boolean success, String key, long commandId, String eventId) {}
}
