package io.cqrs.read.primary;

import com.zaxxer.hikari.HikariDataSource;
import java.util.Properties;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * The read database's primary: {@code READ_DB_PRIMARY_URL} when set (then {@code READ_DB_URL} is a standby), else the
 * read database itself. The listener connects to it for the commit notifications, and the read counts are written
 * to it, through a small pool of its own; the reads themselves go to {@code READ_DB_URL}.
 */
@Component
public class PrimaryDatabase implements DisposableBean {

    /** The {@code application_name} of the pool that writes read counts to a separate primary. */
    static final String APPLICATION_NAME = "read-service-primary";

    private final JdbcConnectionDetails readDatabase;
    private final String url;
    private final @Nullable HikariDataSource ownPool;
    private final JdbcTemplate jdbc;

    /**
     * @param readPoolOptions the read pool's session options (application.properties), which the pool on a separate
     *     primary takes too: reused plans that find rows by key, no JIT
     */
    PrimaryDatabase(
            PrimaryProperties properties,
            JdbcConnectionDetails readDatabase,
            DataSource dataSource,
            @Value("${spring.datasource.hikari.data-source-properties.options}") String readPoolOptions) {
        this.readDatabase = readDatabase;
        if (properties.url().isBlank()) {
            this.url = readDatabase.getJdbcUrl();
            this.ownPool = null;
            this.jdbc = new JdbcTemplate(dataSource);
        } else {
            this.url = properties.url();
            var pool = new HikariDataSource();
            pool.setPoolName("primary");
            pool.setJdbcUrl(url);
            pool.setUsername(readDatabase.getUsername());
            pool.setPassword(readDatabase.getPassword());
            // One flush at a time, and the odd health look: two connections, opened when first needed.
            pool.setMaximumPoolSize(2);
            pool.setMinimumIdle(0);
            pool.setConnectionTimeout(2000);
            pool.setInitializationFailTimeout(-1);
            pool.addDataSourceProperty("ApplicationName", APPLICATION_NAME);
            pool.addDataSourceProperty("options", readPoolOptions);
            this.ownPool = pool;
            this.jdbc = new JdbcTemplate(pool);
        }
    }

    /** Whether the primary is another server than the read database (which is then a standby). */
    public boolean isSeparate() {
        return ownPool != null;
    }

    /** The primary's JDBC URL. */
    public String jdbcUrl() {
        return url;
    }

    /** Connection properties for a plain connection to the primary, with the read database's login. */
    public Properties login() {
        var info = new Properties();
        info.setProperty("user", readDatabase.getUsername());
        String password = readDatabase.getPassword();
        if (password != null) {
            info.setProperty("password", password);
        }
        return info;
    }

    /** Statements that write (the read counts): on the primary. */
    public JdbcTemplate jdbc() {
        return jdbc;
    }

    @Override
    public void destroy() {
        if (ownPool != null) {
            ownPool.close();
        }
    }
}
