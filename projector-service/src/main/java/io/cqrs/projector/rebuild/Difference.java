package io.cqrs.projector.rebuild;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.json.JsonMapper;

/**
 * A key whose shadow row differs from the write database: {@code missing} from the shadow, {@code behind} it or
 * {@code ahead} of it, {@code differs} at the same version, or {@code absent} from the write database.
 */
record Difference(
        String key,
        String kind,
        @JsonProperty("write_version") @Nullable Long writeVersion,
        @JsonProperty("shadow_version") @Nullable Long shadowVersion) {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    static String json(List<Difference> differences) {
        return JSON.writeValueAsString(differences);
    }
}
