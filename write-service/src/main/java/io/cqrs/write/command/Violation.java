package io.cqrs.write.command;

/** One thing wrong with a request, named by the JSON field it is about (e.g. {@code commands[3].value}). */
record Violation(String field, String message) {}
