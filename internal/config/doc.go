// Package config owns Portico's typed configuration: its defaults, loading
// with the precedence flags > environment (PORTICO_*) > YAML file >
// defaults, and validation that names the bad key and, for a file, its
// line. Viper is used here and in cmd/ only; everything else receives a
// *Config.
package config
