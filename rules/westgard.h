/* westgard.h: placeholder, being written. */
#ifndef LABQCD_WESTGARD_H
#define LABQCD_WESTGARD_H
#endif
