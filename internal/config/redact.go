package config

import (
	"fmt"
	"net/url"
	"reflect"
	"time"

	"gopkg.in/yaml.v3"
)

const redacted = "REDACTED"

// Redacted returns a copy with every secret replaced, for printing.
func (c Config) Redacted() Config {
	out := c
	out.DatabaseURL = redactURL(c.DatabaseURL)
	out.Database.ReadURL = redactURL(c.Database.ReadURL)
	out.Mail.SMTPURL = redactURL(c.Mail.SMTPURL)
	if out.Admin.Token != "" {
		out.Admin.Token = redacted
	}
	if out.Auth.OIDC.ClientSecret != "" {
		out.Auth.OIDC.ClientSecret = redacted
	}
	if out.Secrets.EncryptionKey != "" {
		out.Secrets.EncryptionKey = redacted
	}
	out.Connections = make([]ConnectionConfig, len(c.Connections))
	for i, conn := range c.Connections {
		for _, s := range []*string{&conn.ClientSecret, &conn.RefreshToken, &conn.AccessToken, &conn.WebhookSecret} {
			if *s != "" {
				*s = redacted
			}
		}
		out.Connections[i] = conn
	}
	return out
}

// YAML renders the configuration with the same keys the file uses.
func (c Config) YAML() ([]byte, error) {
	return yaml.Marshal(toYAML(c))
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), redacted)
	}
	return u.String()
}

// toYAML converts a config value into maps keyed by the mapstructure tags,
// with durations written the way the file takes them.
func toYAML(v any) any {
	rv := reflect.ValueOf(v)
	switch {
	case rv.Type() == reflect.TypeOf(time.Duration(0)):
		return rv.Interface().(time.Duration).String()
	case rv.Kind() == reflect.Struct:
		m := yaml.Node{Kind: yaml.MappingNode}
		for i := 0; i < rv.NumField(); i++ {
			tag := rv.Type().Field(i).Tag.Get("mapstructure")
			if tag == "" {
				continue
			}
			var val yaml.Node
			_ = val.Encode(toYAML(rv.Field(i).Interface()))
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: tag}, &val)
		}
		return &m
	case rv.Kind() == reflect.Map:
		out := make(map[string]any, rv.Len())
		for _, k := range rv.MapKeys() {
			out[fmt.Sprint(k.Interface())] = toYAML(rv.MapIndex(k).Interface())
		}
		return out
	case rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Struct:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = toYAML(rv.Index(i).Interface())
		}
		return out
	}
	return v
}
