"""humansync-data: the DataParser (`humansync_dataparser`), the lazy data manager
(`humansync_datamanager`) and the transforms.json reader (`transforms_io`). Import the submodules;
this package imports nothing so that the plugin stays cheap to load."""
