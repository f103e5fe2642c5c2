"""structpred's version, in its own module so that everything (model files, the CLI) can
import it without importing the package's other modules."""
__version__ = "0.1.0"
