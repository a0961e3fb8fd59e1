package fakesource_test

import "os"

var osReadFile = os.ReadFile
