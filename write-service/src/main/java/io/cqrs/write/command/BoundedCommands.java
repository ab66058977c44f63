package io.cqrs.write.command;

import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.DeserializationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ValueDeserializer;
import tools.jackson.databind.node.ArrayNode;

/**
 * Reads a batch body's {@code commands} array as a tree of at most one element more than any batch may hold, skipping
 * the rest without building it. An 8 MB body of {@code {}} elements is 2.6 million of them: as a whole tree, forty such
 * requests at once took a 256 MB heap down. {@link CommandRules} then refuses the batch as too long, whatever the
 * body held beyond that.
 */
final class BoundedCommands extends ValueDeserializer<JsonNode> {

    /** Elements kept: one more than the largest batch allowed, so that the rules see it is too long. */
    static final int KEPT = WriteProperties.BATCH_COMMANDS_CAP + 1;

    @Override
    public JsonNode deserialize(JsonParser parser, DeserializationContext context) {
        if (!parser.isExpectedStartArrayToken()) {
            return context.readTree(parser);
        }
        ArrayNode commands = context.getNodeFactory().arrayNode();
        while (parser.nextToken() != JsonToken.END_ARRAY) {
            if (commands.size() < KEPT) {
                commands.add(context.readTree(parser));
            } else {
                parser.skipChildren();
            }
        }
        return commands;
    }
}
