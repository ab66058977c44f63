package io.cqrs.apikeys;

import io.micrometer.common.KeyValue;
import io.micrometer.common.KeyValues;
import org.springframework.http.server.observation.DefaultServerRequestObservationConvention;
import org.springframework.http.server.observation.ServerRequestObservationContext;

/**
 * {@code http.server.requests} tagged with the caller's key name ({@code api_key}, {@code none} without one). The
 * names are the configured keys' only, so the tag's values are few.
 */
final class KeyTaggedRequests extends DefaultServerRequestObservationConvention {

    static final String NONE = "none";

    @Override
    public KeyValues getLowCardinalityKeyValues(ServerRequestObservationContext context) {
        String name = KeyNameInLogs.keyName(context.getCarrier());
        return super.getLowCardinalityKeyValues(context).and(KeyValue.of("api_key", name == null ? NONE : name));
    }
}
