package io.cqrs.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.AbstractBindHandler;
import org.springframework.boot.context.properties.bind.BindContext;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.DataObjectPropertyName;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.boot.context.properties.bind.PropertySourcesPlaceholdersResolver;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.boot.env.PropertiesPropertySourceLoader;
import org.springframework.context.annotation.ClassPathScanningCandidateComponentProvider;
import org.springframework.core.annotation.AnnotationUtils;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ClassPathResource;
import org.springframework.core.type.filter.AnnotationTypeFilter;
import org.springframework.util.ClassUtils;

/**
 * The check that no default is spelled twice differently: a setting's default in {@code application.properties}
 * ({@code cqrs.outbox.sweep-interval=${CQRS_OUTBOX_SWEEP_INTERVAL:1s}}) and in its {@code @ConfigurationProperties}
 * record ({@code @DefaultValue("1s") Duration sweepInterval}) must agree, and every property the file sets under a
 * record's prefix must be one a record binds.
 *
 * <p>Each record is bound twice with Spring Boot's {@link Binder}: from the file alone, every {@code ${ENV:default}}
 * resolved to its default (no environment, no system properties), and from the records' own {@code @DefaultValue}s.
 * Settings without a {@code @DefaultValue} (a required stream name) come from the file both times, so that the
 * records can be made.
 */
public final class PropertyDefaults {

    private PropertyDefaults() {}

    /** One setting whose defaults differ, or which the file sets and no record binds. */
    record Mismatch(String property, String problem) {
        @Override
        public String toString() {
            return property + ": " + problem;
        }
    }

    /**
     * The {@code @ConfigurationProperties} types in the packages and below, package-private ones included: a service's
     * own and those of the shared modules it runs ({@code io.cqrs.apikeys}).
     */
    public static List<Class<?>> configurationPropertiesIn(String... basePackages) {
        var scanner = new ClassPathScanningCandidateComponentProvider(false);
        scanner.addIncludeFilter(new AnnotationTypeFilter(ConfigurationProperties.class));
        return java.util.Arrays.stream(basePackages)
                .flatMap(basePackage -> scanner.findCandidateComponents(basePackage).stream())
                .map(candidate -> ClassUtils.resolveClassName(
                        Objects.requireNonNull(candidate.getBeanClassName()), PropertyDefaults.class.getClassLoader()))
                .sorted(Comparator.comparing(Class::getName))
                .collect(Collectors.toList());
    }

    /**
     * Fails, naming each property, where the file's defaults and the records' differ or where the file sets a
     * property under a record's prefix that no record binds; except for the {@code known} properties, which must still
     * differ (so that the list shrinks when one is fixed).
     *
     * @param resource the properties file on the class path, such as {@code application.properties}
     */
    public static void assertAgree(String resource, Collection<Class<?>> types, Set<String> known) {
        List<Mismatch> mismatches = mismatches(resource, types);
        var problems = new ArrayList<String>();
        mismatches.stream()
                .filter(mismatch -> !known.contains(mismatch.property()))
                .forEach(mismatch -> problems.add(mismatch.toString()));
        Set<String> found = mismatches.stream().map(Mismatch::property).collect(Collectors.toSet());
        known.stream()
                .filter(property -> !found.contains(property))
                .sorted()
                .forEach(property -> problems.add(
                        property + ": listed as a known difference, but there is none any more; take it off the list"));
        if (!problems.isEmpty()) {
            throw new AssertionError(
                    resource + " and " + names(types) + " disagree:\n  " + String.join("\n  ", problems));
        }
    }

    /** Where the file's defaults and the records' differ, and what the file sets under their prefixes unbound. */
    static List<Mismatch> mismatches(String resource, Collection<Class<?>> types) {
        List<PropertySource<?>> file = load(resource);
        var fileSource = (IterableConfigurationPropertySource)
                ConfigurationPropertySources.from(file).iterator().next();
        var placeholders = new PropertySourcesPlaceholdersResolver(file);
        var fromFile = new Binder(List.of(fileSource), placeholders);
        var mismatches = new ArrayList<Mismatch>();
        var bound = new HashSet<ConfigurationPropertyName>();
        for (Class<?> type : types) {
            String prefix = prefix(type);
            Set<ConfigurationPropertyName> required = new HashSet<>();
            requiredProperties(ConfigurationPropertyName.of(prefix), type, required);
            ConfigurationPropertySource requiredOnly =
                    fileSource.filter(name -> required.stream().anyMatch(r -> r.equals(name) || r.isAncestorOf(name)));
            var fromDefaults = new Binder(List.of(requiredOnly), placeholders);

            Object configured = fromFile.bindOrCreate(prefix, Bindable.of(type), new Recording(bound));
            Object defaults = fromDefaults.bindOrCreate(prefix, Bindable.of(type));
            compare(prefix, type, configured, defaults, resource, fileSource, mismatches);
        }
        fileSource.stream()
                .filter(name -> types.stream()
                        .map(type -> ConfigurationPropertyName.of(prefix(type)))
                        .anyMatch(prefix -> prefix.isAncestorOf(name)))
                .filter(name -> !bound.contains(name))
                .forEach(name -> mismatches.add(new Mismatch(
                        name.toString(),
                        "set in " + resource + " ("
                                + fileSource.getConfigurationProperty(name).getValue() + ") but bound by none of "
                                + names(types))));
        mismatches.sort(Comparator.comparing(Mismatch::property));
        return mismatches;
    }

    private static List<PropertySource<?>> load(String resource) {
        var file = new ClassPathResource(resource);
        if (!file.exists()) {
            throw new IllegalArgumentException("No " + resource + " on the class path");
        }
        List<PropertySource<?>> documents;
        try {
            // As Spring Boot reads application.properties, escapes and multi-line values included.
            documents = new PropertiesPropertySourceLoader().load(resource, file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (documents.size() != 1) {
            throw new IllegalArgumentException(resource + " has " + documents.size() + " documents; one expected");
        }
        return documents;
    }

    private static String prefix(Class<?> type) {
        ConfigurationProperties annotation = AnnotationUtils.findAnnotation(type, ConfigurationProperties.class);
        if (annotation == null || annotation.prefix().isEmpty()) {
            throw new IllegalArgumentException(type.getName() + " has no @ConfigurationProperties prefix");
        }
        return annotation.prefix();
    }

    /** The properties under {@code name} that {@code type} has no {@code @DefaultValue} for. */
    private static void requiredProperties(
            ConfigurationPropertyName name, Class<?> type, Set<ConfigurationPropertyName> required) {
        RecordComponent[] components = components(type);
        DefaultValue[] defaults = defaultValues(type, components);
        for (int i = 0; i < components.length; i++) {
            ConfigurationPropertyName child = name.append(DataObjectPropertyName.toDashedForm(components[i].getName()));
            if (components[i].getType().isRecord()) {
                requiredProperties(child, components[i].getType(), required);
            } else if (defaults[i] == null) {
                required.add(child);
            }
        }
    }

    private static void compare(
            String name,
            Class<?> type,
            @Nullable Object configured,
            @Nullable Object defaults,
            String resource,
            ConfigurationPropertySource file,
            List<Mismatch> mismatches) {
        RecordComponent[] components = components(type);
        DefaultValue[] annotated = defaultValues(type, components);
        for (int i = 0; i < components.length; i++) {
            RecordComponent component = components[i];
            String property = name + "." + DataObjectPropertyName.toDashedForm(component.getName());
            Object fromFile = configured == null ? null : value(component, configured);
            Object fromDefault = defaults == null ? null : value(component, defaults);
            if (component.getType().isRecord()) {
                compare(property, component.getType(), fromFile, fromDefault, resource, file, mismatches);
            } else if (!Objects.equals(fromFile, fromDefault)) {
                var line = file.getConfigurationProperty(ConfigurationPropertyName.of(property));
                mismatches.add(new Mismatch(
                        property,
                        resource + " gives " + fromFile + (line == null ? "" : " (" + line.getValue() + ")") + ", "
                                + type.getSimpleName() + "." + component.getName() + " "
                                + (annotated[i] == null
                                        ? "has no @DefaultValue"
                                        : "@DefaultValue(\"" + String.join("\", \"", annotated[i].value()) + "\")")
                                + " gives " + fromDefault));
            }
        }
    }

    private static RecordComponent[] components(Class<?> type) {
        if (!type.isRecord()) {
            throw new IllegalArgumentException(type.getName() + " is not a record");
        }
        return type.getRecordComponents();
    }

    /** Each component's {@code @DefaultValue}, which Java puts on the canonical constructor's parameter only. */
    private static @Nullable DefaultValue[] defaultValues(Class<?> type, RecordComponent[] components) {
        Class<?>[] parameterTypes =
                Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new);
        try {
            return Arrays.stream(type.getDeclaredConstructor(parameterTypes).getParameters())
                    .map(parameter -> parameter.getAnnotation(DefaultValue.class))
                    .toArray(DefaultValue[]::new);
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(type.getName() + " has no canonical constructor", e);
        }
    }

    private static @Nullable Object value(RecordComponent component, Object record) {
        var accessor = component.getAccessor();
        // Records are package-private by default in the services.
        accessor.setAccessible(true);
        try {
            return accessor.invoke(record);
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("Cannot read " + component + " of " + record.getClass(), e);
        }
    }

    private static String names(Collection<Class<?>> types) {
        return types.stream().map(Class::getSimpleName).collect(Collectors.joining(", ", "[", "]"));
    }

    /** Notes every property a binding took from its source. */
    private static final class Recording extends AbstractBindHandler {
        private final Set<ConfigurationPropertyName> bound;

        Recording(Set<ConfigurationPropertyName> bound) {
            this.bound = bound;
        }

        @Override
        public @Nullable Object onSuccess(
                ConfigurationPropertyName name, Bindable<?> target, BindContext context, Object result) {
            if (context.getConfigurationProperty() != null) {
                bound.add(context.getConfigurationProperty().getName());
            }
            return super.onSuccess(name, target, context, result);
        }
    }
}
