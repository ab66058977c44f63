package io.cqrs.write.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.write.command.WriteController.BatchRequest;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class BoundedCommandsTests {

    private final JsonMapper json = JsonMapper.builder().build();

    @Test
    void keepsNoMoreElementsThanTheLargestBatchPlusOneHoweverLongTheArray() {
        String body = "{\"commands\":[" + "{},".repeat(50_000) + "{}],\"after\":1}";

        var request = json.readValue(body, BatchRequest.class);

        assertThat(request.commands().size()).isEqualTo(WriteProperties.BATCH_COMMANDS_CAP + 1);
    }

    @Test
    void keepsABatchWithinTheBoundWholeAndOtherShapesAsTheyAre() {
        var batch = json.readValue(
                "{\"commands\":[{\"key\":\"a\",\"value\":\"1\"},{\"key\":\"b\",\"value\":[1,[2]]}]}",
                BatchRequest.class);
        var notAnArray = json.readValue("{\"commands\":{\"key\":\"a\"}}", BatchRequest.class);

        assertThat(batch.commands().size()).isEqualTo(2);
        assertThat(batch.commands().get(1).get("value").toString()).isEqualTo("[1,[2]]");
        assertThat(notAnArray.commands().isObject()).isTrue();
    }
}
