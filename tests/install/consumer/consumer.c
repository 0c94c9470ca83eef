/* An application using the installed Ember: C99, warnings as errors. */
#include <ember/ember.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    if (ember_version() != EMBER_VERSION_NUMBER) {
        fprintf(stderr, "header %d, library %u\n", EMBER_VERSION_NUMBER, (unsigned)ember_version());
        return 1;
    }
    if (strcmp(ember_status_string(EMBER_OK), "ok") != 0) return 1;
    printf("ember %s: %s\n", ember_version_string(), ember_system_info());
    return 0;
}
